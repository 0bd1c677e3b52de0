//! Office intake, the verdict recorded by phone, claiming by a verified phone, and the channel
//! never shown publicly.
use entity::appeal_intakes;
use sea_orm::{EntityTrait, TransactionTrait};
use serde_json::json;

use super::{actions, county};

#[tokio::test]
async fn an_appeal_taken_by_phone_runs_the_same_loop_and_the_office_records_the_verdict() {
    let c = county().await;
    let body = c.intake("12345-0001", "138-1234-5678", "石门村停水");
    let r = c.register(&body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r.body["appeal_id"].as_i64().unwrap();
    assert_eq!(r.body["channel"], "hotline");
    assert_eq!(r.body["external_ref"], "12345-0001");
    assert_eq!(r.body["resident_phone"], "138****5678");
    assert_eq!(r.body["resident_name"], "张*");
    assert_eq!(r.body["claimed"], false);
    assert_eq!(r.body["state"], "submitted");

    // Sending it again (a double click, a retry) finds the same appeal; another appeal under
    // the same reference is refused.
    let again = c.register(&body).await;
    assert_eq!(
        (again.status, again.body["appeal_id"].as_i64()),
        (200, Some(id))
    );
    let mut other = body.clone();
    other["title"] = json!("另一件事");
    let clash = c.register(&other).await;
    assert_eq!((clash.status, clash.code()), (409, "external_ref_taken"));
    // The same reference on another channel is another appeal.
    let mut mailbox = body.clone();
    mailbox["channel"] = json!("mailbox");
    assert_eq!(c.register(&mailbox).await.status, 201);

    // Staff see the channel; the phone is in no view of the appeal (not even unmasked for the
    // office: it belongs to the intake record, which masks it).
    let staff = c
        .app
        .get(&format!("/api/v1/appeals/{id}"), Some(&c.office))
        .await;
    assert_eq!(staff.body["channel"], "hotline");
    assert!(staff.body.get("contact_phone").is_none());
    for text in [staff.body.to_string(), r.body.to_string()] {
        assert!(
            !text.contains("13812345678") && !text.contains("1234-5678"),
            "{text}"
        );
        assert!(!text.contains("张三"), "{text}");
    }
    let inbox = c
        .app
        .get("/api/v1/office/appeals?state=submitted", Some(&c.office))
        .await;
    assert!(inbox.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["id"] == id));

    // The same loop as a mini-program appeal, up to the verdict the resident gave by phone.
    c.to_published(id).await;
    let v = c
        .app
        .post(
            &format!("/api/v1/office/intakes/{id}/verdict"),
            Some(&c.office),
            json!({"version": 0, "rating": "satisfied", "solved": true}),
        )
        .await;
    assert_eq!(
        (v.status, v.code()),
        (409, "version_conflict"),
        "{:?}",
        v.body
    );
    let version = c
        .app
        .get(&format!("/api/v1/appeals/{id}"), Some(&c.office))
        .await
        .body["version"]
        .clone();
    let v = c
        .app
        .post(
            &format!("/api/v1/office/intakes/{id}/verdict"),
            Some(&c.office),
            json!({"version": version, "rating": "satisfied", "solved": true, "comment": "电话回访：满意"}),
        )
        .await;
    assert_eq!(v.status, 200, "{:?}", v.body);
    assert_eq!(v.body["state"], "closed");
    assert_eq!(v.body["rating"], "satisfied");
    assert_eq!(
        actions(&v.body),
        [
            "submit",
            "accept",
            "assign",
            "sign",
            "reply",
            "approve_reply",
            "rate"
        ]
    );
    let rate = v.body["timeline"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        rate["actor_role"], "office",
        "the event names who recorded it: {rate}"
    );
    assert_eq!(rate["detail"]["recorded_for_resident"], true);
    let submit = &v.body["timeline"][0];
    assert_eq!(submit["actor_role"], "office");
    assert_eq!(submit["detail"]["channel"], "hotline");

    // A second verdict is not a step of the loop.
    let twice = c
        .app
        .post(
            &format!("/api/v1/office/intakes/{id}/verdict"),
            Some(&c.office),
            json!({"version": v.body["version"], "rating": "unsatisfied", "solved": false}),
        )
        .await;
    assert_eq!((twice.status, twice.code()), (409, "invalid_transition"));
}

#[tokio::test]
async fn intakes_are_checked_and_only_the_office_registers_them() {
    let c = county().await;
    let base = c.intake("T-1", "13812345678", "路灯不亮");
    for (field, value, expect) in [
        ("channel", json!("mini_program"), "channel"),
        ("channel", json!("fax"), "channel"),
        ("resident_phone", json!("打电话"), "resident_phone"),
        ("resident_phone", json!("123"), "resident_phone"),
        ("resident_name", json!("  "), "resident_name"),
        ("title", json!("长".repeat(101)), "title"),
        ("external_ref", json!("x".repeat(65)), "external_ref"),
        ("category_id", json!(999_999), "category_id"),
    ] {
        let mut b = base.clone();
        b[field] = value;
        let r = c.register(&b).await;
        assert_eq!(
            (r.status, r.body["error"]["field"].as_str()),
            (422, Some(expect)),
            "{field}: {:?}",
            r.body
        );
    }
    let (resident, _) = c.app.resident("carol").await;
    let r = c
        .app
        .post("/api/v1/office/intakes", Some(&resident), base.clone())
        .await;
    assert_eq!(r.status, 403);
    let r = c
        .app
        .get("/api/v1/office/intakes/1", Some(&c.handler))
        .await;
    assert_eq!(r.status, 403);
    // A mini-program appeal has no intake record, and the office cannot rate for its author.
    let missing = c
        .app
        .get("/api/v1/office/intakes/999999", Some(&c.office))
        .await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn a_verified_phone_claims_the_appeals_registered_under_it() {
    let c = county().await;
    let a = c
        .register(&c.intake("C-1", "+86 139-1234-5678", "自来水浑浊"))
        .await
        .body["appeal_id"]
        .as_i64()
        .unwrap();
    let b = c
        .register(&c.intake("C-2", "13912345678", "水压太低"))
        .await
        .body["appeal_id"]
        .as_i64()
        .unwrap();
    let other = c
        .register(&c.intake("C-3", "13700000000", "停水"))
        .await
        .body["appeal_id"]
        .as_i64()
        .unwrap();
    c.to_published(a).await;

    let (bob, me) = c.app.resident("bob").await;
    let bob_id = me["user"]["id"].as_i64().unwrap();
    let mine = c.app.get("/api/v1/my/appeals", Some(&bob)).await;
    assert!(mine.body["items"].as_array().unwrap().is_empty());
    assert_eq!(
        c.app
            .get(&format!("/api/v1/appeals/{a}"), Some(&bob))
            .await
            .status,
        404
    );

    // Claiming repeated directly (the function `POST /api/v1/me/phone` calls in its
    // transaction) changes nothing once the route has claimed.
    let claim = |phone: &'static str| {
        let state = c.app.state.clone();
        async move {
            let txn = state.db.begin().await.unwrap();
            let ids = minxin::channels::claim_appeals_for_verified_phone(
                &txn,
                &state.cipher,
                bob_id,
                phone,
                state.clock.now(),
            )
            .await
            .unwrap();
            txn.commit().await.unwrap();
            ids
        }
    };
    // The resident verifies the phone in the mini-program (WeChat's getPhoneNumber code):
    // the office's appeals under that number become theirs, in the same transaction.
    let openid = entity::users::Entity::find_by_id(bob_id)
        .one(&c.app.state.db)
        .await
        .unwrap()
        .unwrap()
        .openid;
    let code = c.app.wechat.phone_code(&openid, "+86 139-1234-5678");
    let verified = c
        .app
        .post("/api/v1/me/phone", Some(&bob), json!({ "code": code }))
        .await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);
    assert_eq!(verified.body["phone_masked"], "139****5678");
    assert!(
        claim("13912345678").await.is_empty(),
        "claiming twice changes nothing"
    );
    assert!(claim("not a phone").await.is_empty());

    let mine = c.app.get("/api/v1/my/appeals", Some(&bob)).await;
    let ids: Vec<i64> = mine.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{:?}", mine.body);
    assert!(ids.contains(&a) && ids.contains(&b) && !ids.contains(&other));
    let view = c.app.get(&format!("/api/v1/appeals/{a}"), Some(&bob)).await;
    assert_eq!(view.status, 200);
    assert!(
        view.body.get("channel").is_none(),
        "the channel is for staff: {:?}",
        view.body
    );
    assert_eq!(view.body["allowed_actions"], json!(["rate"]));
    let intake = c
        .app
        .get(&format!("/api/v1/office/intakes/{a}"), Some(&c.office))
        .await;
    assert_eq!(intake.body["claimed"], true);
    assert!(intake.body["claimed_at"].is_string());

    // Now the resident rates it; the office no longer records verdicts for it.
    let version = view.body["version"].clone();
    let by_office = c
        .app
        .post(
            &format!("/api/v1/office/intakes/{a}/verdict"),
            Some(&c.office),
            json!({"version": version, "rating": "satisfied", "solved": true}),
        )
        .await;
    assert_eq!(
        (by_office.status, by_office.code()),
        (409, "appeal_claimed")
    );
    let rated = c
        .app
        .post(
            &format!("/api/v1/appeals/{a}/actions"),
            Some(&bob),
            json!({"version": version, "action": "rate", "rating": "basically_satisfied", "solved": true}),
        )
        .await;
    assert_eq!(rated.status, 200, "{:?}", rated.body);
    assert_eq!(rated.body["state"], "closed");

    // The phone is stored encrypted; its lookup hash is keyed.
    let rows = appeal_intakes::Entity::find()
        .all(&c.app.state.db)
        .await
        .unwrap();
    for row in rows {
        for stored in [&row.phone_enc, &row.phone_hash, &row.resident_name_enc] {
            assert!(
                !stored.contains("13912345678")
                    && !stored.contains("13700000000")
                    && !stored.contains("张三")
            );
        }
        assert_ne!(row.phone_hash, minxin::crypto::sha256_hex("13912345678"));
    }
}

#[tokio::test]
async fn the_channel_is_never_shown_publicly() {
    let c = county().await;
    let id = c
        .register(&c.intake("P-1", "13812345678", "村口水管破裂"))
        .await
        .body["appeal_id"]
        .as_i64()
        .unwrap();
    c.to_published(id).await;
    let board = c.app.get("/api/v1/board", None).await;
    assert!(
        board.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == id),
        "{:?}",
        board.body
    );
    let one = c.app.get(&format!("/api/v1/board/{id}"), None).await;
    assert_eq!(one.status, 200);
    let searched = c.app.get("/api/v1/board?q=hotline", None).await;
    assert!(
        searched.body["items"].as_array().unwrap().is_empty(),
        "the channel is not searchable"
    );
    for text in [board.body.to_string(), one.body.to_string()] {
        assert!(
            !text.contains("hotline") && !text.contains("channel") && !text.contains("P-1"),
            "{text}"
        );
        assert!(
            !text.contains("13812345678") && !text.contains("张"),
            "{text}"
        );
    }
    // Nor in the public shapes of the contract.
    let doc = c.app.get("/api/v1/openapi.json", None).await.body;
    for schema in ["BoardItem", "BoardPage", "BoardAppeal"] {
        if let Some(s) = doc["components"]["schemas"].get(schema) {
            assert!(!s.to_string().contains("channel"), "{schema}: {s}");
        }
    }
    // A mini-program appeal says so to staff.
    let (alice, _) = c.app.resident("alice").await;
    let req = c
        .app
        .http
        .post(c.app.url("/api/v1/appeals"))
        .bearer_auth(&alice)
        .header("Idempotency-Key", "k-1")
        .json(&json!({"title": "路面坑洼", "content": "村道坑洼多", "category_id": c.category, "village_id": c.village}));
    let r = c.app.send(req).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert!(
        r.body.get("channel").is_none(),
        "the author does not see it"
    );
    let staff = c
        .app
        .get(
            &format!("/api/v1/appeals/{}", r.body["id"]),
            Some(&c.office),
        )
        .await;
    assert_eq!(staff.body["channel"], "mini_program");
}
