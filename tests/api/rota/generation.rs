//! Generating a draft rota: holidays, fairness, refusals, concurrent drafts.
use super::*;

#[tokio::test]
async fn generation_skips_holidays_respects_unavailability_and_rotates_fairly() {
    let c = county().await;
    // Leader 1 cannot host on Thu 10-9; they mark it themself.
    let r = c
        .app
        .post(
            &format!("/api/v1/leaders/{}/unavailable-dates", c.leader(1)),
            Some(&c.leaders[1].token),
            json!({ "dates": ["2025-10-09"], "reason": "外出学习" }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);

    let rota = c.generate("2025-09-29", "2025-10-19").await;
    assert_eq!(rota["status"], "draft");
    assert_eq!(rota["version"], 0);
    assert_eq!(rota["weekdays"], json!(["tue", "thu"]));
    assert_eq!(
        (rota["start"].as_str(), rota["end"].as_str()),
        (Some("19:30"), Some("21:00"))
    );
    // Thu 10-2 and Tue 10-7 are National Day holidays: no session.
    assert_eq!(
        dates(&rota),
        ["2025-09-30", "2025-10-09", "2025-10-14", "2025-10-16"]
    );
    let list = sessions(&rota);
    for s in &list {
        assert_eq!(
            (s["start"].as_str(), s["end"].as_str()),
            (Some("19:30"), Some("21:00"))
        );
        assert_eq!(s["published"], false);
        assert_eq!(s["problems"], json!([]));
        assert!(s["leader"]["display_name"].is_string());
    }
    // 19:30 in Shanghai is 11:30 UTC.
    assert_eq!(list[0]["starts_at"], "2025-09-30T11:30:00Z");
    assert_eq!(list[0]["weekday"], "tue");
    let on_9th = list.iter().find(|s| s["date"] == "2025-10-09").unwrap();
    assert_ne!(
        leader_of(on_9th),
        Some(c.leader(1)),
        "unavailability respected"
    );
    assert_no_repeat(&list);
    let n = counts(&list);
    assert_eq!(n.values().sum::<u32>(), 4);
    assert!(
        n.values().max().unwrap() - n.values().min().unwrap() <= 1,
        "{n:?}"
    );
    assert_eq!(n.len(), 3, "everyone hosts: {n:?}");

    // A second, longer range continues the rotation: counts stay balanced over both, and the
    // first session avoids whoever hosted the last one before it.
    let next = c.generate("2025-10-20", "2025-12-31").await;
    let more = sessions(&next);
    assert_eq!(more.len(), 21);
    assert!(more
        .iter()
        .all(|s| s["date"].as_str().unwrap() >= "2025-10-20"));
    assert_ne!(leader_of(&more[0]), leader_of(list.last().unwrap()));
    let all: Vec<Value> = list.iter().chain(more.iter()).cloned().collect();
    assert_no_repeat(&all);
    let n = counts(&all);
    assert!(
        n.values().max().unwrap() - n.values().min().unwrap() <= 1,
        "{n:?}"
    );

    // Deterministic: discarding the draft and generating again gives the same rota.
    let again_id = next["id"].as_i64().unwrap();
    let r = delete(&c.app, &format!("/api/v1/rotas/{again_id}"), &c.admin.token).await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let regenerated = c.generate("2025-10-20", "2025-12-31").await;
    let ids = |l: &[Value]| l.iter().map(leader_of).collect::<Vec<_>>();
    assert_eq!(ids(&sessions(&regenerated)), ids(&more));
    let list = c.app.get("/api/v1/rotas", Some(&c.office.token)).await;
    let statuses: Vec<&str> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["draft", "discarded", "draft"]);

    // Other weekdays and times.
    let custom = c
        .try_generate(
            json!({ "range_start": "2026-01-05", "range_end": "2026-01-11",
            "weekdays": ["mon", "Wednesday", "mon"], "start": "09:00", "end": "10:30" }),
        )
        .await;
    assert_eq!(custom.status, 201, "{:?}", custom.body);
    assert_eq!(dates(&custom.body), ["2026-01-05", "2026-01-07"]);
    assert_eq!(custom.body["weekdays"], json!(["mon", "wed"]));
    assert_eq!(
        sessions(&custom.body)[0]["starts_at"],
        "2026-01-05T01:00:00Z"
    );
}

#[tokio::test]
async fn generation_refuses_bad_input_and_overlapping_ranges() {
    let c = county().await;
    let cases = [
        (
            json!({ "range_start": "2025-10-10", "range_end": "2025-10-01" }),
            "range_end",
        ),
        (
            json!({ "range_start": "2025-01-01", "range_end": "2026-01-02" }),
            "range_end",
        ),
        (
            json!({ "range_start": "2025-13-01", "range_end": "2025-12-01" }),
            "range_start",
        ),
        (
            json!({ "range_start": "2025/10/01", "range_end": "2025-12-01" }),
            "range_start",
        ),
        (json!({ "range_end": "2025-12-01" }), "range_start"),
        (
            json!({ "range_start": 20251001, "range_end": "2025-12-01" }),
            "range_start",
        ),
        (
            json!({ "range_start": "2025-10-01", "range_end": "2025-12-01", "weekdays": ["someday"] }),
            "weekdays",
        ),
        (
            json!({ "range_start": "2025-10-01", "range_end": "2025-12-01", "weekdays": [] }),
            "weekdays",
        ),
        (
            json!({ "range_start": "2025-10-01", "range_end": "2025-12-01", "start": "7pm" }),
            "start",
        ),
        (
            json!({ "range_start": "2025-10-01", "range_end": "2025-12-01", "start": "25:00" }),
            "start",
        ),
        (
            json!({ "range_start": "2025-10-01", "range_end": "2025-12-01", "start": "21:00", "end": "19:30" }),
            "end",
        ),
    ];
    for (body, f) in cases {
        let r = c.try_generate(body.clone()).await;
        assert_eq!(
            (r.status, r.code(), field(&r)),
            (422, "validation_failed", f),
            "{body}: {:?}",
            r.body
        );
    }
    c.generate("2025-10-01", "2025-10-31").await;
    let r = c
        .try_generate(json!({ "range_start": "2025-10-31", "range_end": "2025-11-30" }))
        .await;
    assert_eq!((r.status, r.code()), (409, "rota_overlap"), "{:?}", r.body);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("2025-10-01"));
}

/// The demo calendar ends with 2026: a rota for 2027 would put sessions on its holidays
/// unnoticed, so it is refused until the admin says that is what they want.
#[tokio::test]
async fn a_rota_for_a_year_without_holiday_data_needs_the_admins_consent() {
    let c = county().await;
    let range = json!({ "range_start": "2026-12-28", "range_end": "2027-01-10" });
    let r = c.try_generate(range.clone()).await;
    assert_eq!((r.status, r.code()), (409, "holiday_data_missing"));
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("2027") && message.contains("accept_missing_holidays"),
        "{message}"
    );
    let mut accepted = range;
    accepted["accept_missing_holidays"] = json!(true);
    let r = c.try_generate(accepted).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    // Every Tuesday and Thursday, as if 2027 had no holidays: the admin accepted that.
    assert_eq!(
        dates(&r.body),
        ["2026-12-29", "2026-12-31", "2027-01-05", "2027-01-07"]
    );
}

#[tokio::test]
async fn two_admins_generating_overlapping_ranges_at_once_cannot_both_win() {
    let c = county().await;
    let (x, y) = tokio::join!(
        c.try_generate(json!({ "range_start": "2025-11-03", "range_end": "2025-11-16" })),
        c.try_generate(json!({ "range_start": "2025-11-10", "range_end": "2025-11-23" })),
    );
    let mut got = [x.status, y.status];
    got.sort();
    assert_eq!(got, [201, 409], "{:?} {:?}", x.body, y.body);
    let loser = if x.status == 409 { &x } else { &y };
    assert_eq!(loser.body["error"]["code"], "rota_overlap");
}
