//! The iCalendar feed and the CSV export.
use super::*;

#[tokio::test]
async fn exports_as_icalendar_and_csv_with_stable_uids() {
    let c = county().await;
    let (rota_id, list) = c.published().await;
    let ids: Vec<i64> = list.iter().map(|s| s["id"].as_i64().unwrap()).collect();

    let r = c
        .app
        .http
        .get(c.app.url("/api/v1/rota/calendar.ics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/calendar"));
    let text = r.text().await.unwrap();
    let cal: icalendar::Calendar = text.parse().unwrap();
    assert_eq!(cal.get_timezone(), Some("Asia/Shanghai"));
    let events: Vec<&icalendar::Event> =
        cal.components.iter().filter_map(|c| c.as_event()).collect();
    assert_eq!(events.len(), 4);
    let local = |d: &str, h: u32, m: u32| {
        Some(DatePerhapsTime::DateTime(CalendarDateTime::WithTimezone {
            date_time: NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .unwrap()
                .and_hms_opt(h, m, 0)
                .unwrap(),
            tzid: "Asia/Shanghai".into(),
        }))
    };
    let expected = ["2025-09-30", "2025-10-09", "2025-10-14", "2025-10-16"];
    let mut uids = Vec::new();
    for (e, (d, id)) in events.iter().zip(expected.iter().zip(&ids)) {
        assert_eq!(
            e.get_uid(),
            Some(format!("rota-session-{id}@minxin.local").as_str())
        );
        assert_eq!(e.get_start(), local(d, 19, 30));
        assert_eq!(e.get_end(), local(d, 21, 0));
        assert_eq!(e.get_sequence(), Some(0));
        assert_eq!(e.get_status(), Some(icalendar::EventStatus::Confirmed));
        uids.push(e.get_uid().unwrap().to_string());
    }
    assert!(events[0].get_summary().unwrap().contains("张明（县长）"));

    // Change, cancel, add and republish: same UIDs, SEQUENCE bumped, cancelled kept.
    c.admin_edit(
        ids[0],
        "reschedule",
        json!({ "start": "20:00", "end": "21:30", "reason": "演播室检修" }),
    )
    .await;
    c.admin_edit(ids[1], "cancel", json!({ "reason": "防汛" }))
        .await;
    let added = c
        .app
        .post(
            &format!("/api/v1/rotas/{rota_id}/sessions"),
            Some(&c.admin.token),
            json!({ "date": "2025-10-17", "leader_id": c.leader(1) }),
        )
        .await;
    assert_eq!(added.status, 201);
    assert_eq!(c.publish(rota_id).await.status, 200);
    let text = c.app.get("/api/v1/rota/calendar.ics", None).await.body;
    let cal: icalendar::Calendar = text.as_str().unwrap().parse().unwrap();
    let events: Vec<&icalendar::Event> =
        cal.components.iter().filter_map(|c| c.as_event()).collect();
    assert_eq!(events.len(), 5);
    let by_uid = |uid: &str| *events.iter().find(|e| e.get_uid() == Some(uid)).unwrap();
    let moved = by_uid(&uids[0]);
    assert_eq!(
        (moved.get_sequence(), moved.get_start()),
        (Some(1), local("2025-09-30", 20, 0))
    );
    let gone = by_uid(&uids[1]);
    assert_eq!(
        (gone.get_sequence(), gone.get_status()),
        (Some(1), Some(icalendar::EventStatus::Cancelled))
    );
    assert_eq!(by_uid(&uids[2]).get_sequence(), Some(0));
    let new_uid = format!("rota-session-{}@minxin.local", added.body["id"]);
    assert_eq!(by_uid(&new_uid).get_start(), local("2025-10-17", 19, 30));
    // A range narrows the feed; a bad one is refused.
    let narrow = c
        .app
        .get(
            "/api/v1/rota/calendar.ics?from=2025-10-14&to=2025-10-14",
            None,
        )
        .await;
    let cal: icalendar::Calendar = narrow.body.as_str().unwrap().parse().unwrap();
    assert_eq!(
        cal.components.iter().filter_map(|c| c.as_event()).count(),
        1
    );
    let bad = c
        .app
        .get("/api/v1/rota/calendar.ics?from=yesterday", None)
        .await;
    assert_eq!((bad.status, field(&bad)), (422, "from"));

    // CSV.
    let r = c
        .app
        .http
        .get(c.app.url("/api/v1/rota/sessions.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = r.text().await.unwrap();
    let text = text.strip_prefix('\u{feff}').expect("BOM for spreadsheets");
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "session_id,date,weekday,start,end,leader,title,status,registrations,sequence"
    );
    assert_eq!(lines.len(), 6);
    assert_eq!(
        lines[1],
        format!(
            "{},2025-09-30,tue,20:00,21:30,张明,县长,scheduled,0,1",
            ids[0]
        )
    );
    assert_eq!(
        lines[2],
        format!(
            "{},2025-10-09,thu,19:30,21:00,李华,副县长,cancelled,0,1",
            ids[1]
        )
    );
}

/// A session nobody started is not a confirmed event any more: calendars that subscribed see it
/// cancelled, with SEQUENCE bumped so they replace their copy.
#[tokio::test]
async fn a_missed_session_is_cancelled_in_the_calendar_feed() {
    let c = county().await;
    let (_, list) = c.published().await;
    let s1 = list[0]["id"].as_i64().unwrap();
    c.app.clock.set(shanghai(2025, 9, 30, 20, 5));
    let n = minxin::rota::lifecycle::mark_missed(&c.app.state)
        .await
        .unwrap();
    assert_eq!(n, 1);
    let text = c.app.get("/api/v1/rota/calendar.ics", None).await.body;
    let cal: icalendar::Calendar = text.as_str().unwrap().parse().unwrap();
    let uid = format!("rota-session-{s1}@minxin.local");
    let missed = cal
        .components
        .iter()
        .filter_map(|c| c.as_event())
        .find(|e| e.get_uid() == Some(uid.as_str()))
        .unwrap();
    assert_eq!(missed.get_status(), Some(icalendar::EventStatus::Cancelled));
    assert_eq!(missed.get_sequence(), Some(1));
}
