//! Live rooms keep their record straight when sockets and stored state go away: the last
//! socket of a session on an instance is recorded as away, and a room whose stored state
//! expired continues its event numbering.
use std::time::{Duration, Instant};

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;

use crate::live::live_room;

fn queue_of(n: usize) -> impl Fn(&Value) -> bool {
    move |m| m["type"] == "queue" && m["data"]["waiting"].as_array().map(Vec::len) == Some(n)
}

#[tokio::test]
async fn the_last_socket_to_leave_is_recorded_away_and_its_grace_runs() {
    let room = live_room(|s| s.live.grace_waiting_secs = 2).await;
    let (tok, id) = room.resident("alone").await;
    // The resident's socket is the only one of this session on the instance.
    let mut c = room.connect(&tok).await;
    c.send("join", None).await;
    c.position(0).await;
    c.ws.close(None).await.unwrap();
    drop(c);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut leader = room.connect(&room.leader).await;
    let q = leader.until("queue of 1", queue_of(1)).await;
    assert_eq!(q["data"]["waiting"][0]["user_id"].as_i64(), Some(id));
    assert_eq!(
        q["data"]["waiting"][0]["away"], true,
        "the resident's departure was recorded"
    );
    // The grace period runs out and the place goes to others.
    leader.until("queue of 0", queue_of(0)).await;
}

async fn logged(room: &crate::live::Room) -> Vec<i64> {
    entity::live_room_events::Entity::find()
        .filter(entity::live_room_events::Column::SessionId.eq(room.session))
        .all(&room.app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.seq)
        .collect()
}

#[tokio::test]
async fn a_room_recreated_after_its_state_expired_keeps_numbering_its_events() {
    let room = live_room(|_| {}).await;
    let (a_tok, _) = room.resident("before").await;
    let mut a = room.connect(&a_tok).await;
    a.send("join", None).await;
    a.position(0).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let before = loop {
        let seqs = logged(&room).await;
        if !seqs.is_empty() {
            break seqs;
        }
        assert!(Instant::now() < deadline, "the join was never logged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let last = *before.iter().max().unwrap();

    // The room's stored state expires (rooms outlive a session by a day in the broker).
    room.app
        .state
        .broker
        .delete(&minxin::live::store::room_key(room.session))
        .await
        .unwrap();
    let (b_tok, _) = room.resident("after").await;
    let mut b = room.connect(&b_tok).await;
    b.send("join", None).await;
    b.position(0).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let after = loop {
        let seqs = logged(&room).await;
        if seqs.len() > before.len() {
            break seqs;
        }
        assert!(
            Instant::now() < deadline,
            "events of the recreated room were not logged: {seqs:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(after.iter().max().unwrap() > &last, "{after:?}");
    // A client connecting now is told a room_seq past everything it may have seen.
    let (c_tok, _) = room.resident("later").await;
    let c = room.connect(&c_tok).await;
    assert!(c.welcome()["room_seq"].as_u64().unwrap() > last as u64);
}
