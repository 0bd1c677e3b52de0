//! What a connection is shown beyond the room's events: the hosts' queue view and, for the two
//! people in a turn, the media grant (ICE servers, TURN credentials, a TRTC UserSig).
use super::media;
use super::protocol::{MediaGrant, QueueItem, QueueView, StageView, TrtcGrant};
use super::room::{Phase, Room};
use crate::state::AppState;

pub fn queue_view(room: &Room) -> QueueView {
    QueueView {
        room_seq: room.seq,
        waiting: room
            .queue
            .entries()
            .iter()
            .map(|e| QueueItem {
                user_id: e.user_id,
                registered: e.registered,
                topic: e.topic.clone(),
                deferred: e.deferrals > 0,
                away: room.away.contains_key(&e.user_id),
            })
            .collect(),
        stage: room.stage.as_ref().map(|s| StageView {
            user_id: s.user_id,
            topic: s.topic.clone(),
            phase: <&'static str>::from(&s.phase).into(),
            until_ms: match s.phase {
                Phase::Called { confirm_by_ms } => confirm_by_ms,
                Phase::OnStage { ends_at_ms, .. } => ends_at_ms,
            },
            away: room.away.contains_key(&s.user_id),
        }),
        paused: room.paused,
        ended: room.ended,
        served: room.served,
    }
}

/// ICE servers (with time-limited TURN credentials when a secret is configured) and, when
/// TRTC is configured, a UserSig for the session's room; only while someone is on stage.
pub fn media_grant(
    state: &AppState,
    session_id: i64,
    user_id: i64,
    room: &Room,
) -> Option<MediaGrant> {
    let ends_at_ms = match room.stage.as_ref().map(|s| &s.phase) {
        Some(Phase::OnStage { ends_at_ms, .. }) => *ends_at_ms,
        _ => return None,
    };
    let live = &state.settings.live;
    // The turn's end is in room time; TURN servers and TRTC check against the real clock, never
    // the offset one (`MINXIN_CLOCK_OFFSET_SECS`), so only the time left is taken from the room.
    let left = (ends_at_ms - state.clock.now().timestamp_millis()) / 1000;
    let ttl = left.max(60) + 300;
    let now = chrono::Utc::now().timestamp();
    let mut ice_servers = Vec::new();
    if !live.ice_urls.is_empty() {
        if live.turn_secret.is_empty() {
            ice_servers.push(media::IceServer {
                urls: live.ice_urls.clone(),
                username: None,
                credential: None,
            });
        } else {
            ice_servers.push(media::turn_credentials(
                live.turn_secret.expose(),
                &user_id.to_string(),
                now,
                ttl,
                &live.ice_urls,
            ));
        }
    }
    // Bound to this session's room, so a removed resident cannot take it elsewhere.
    let trtc = (live.trtc_sdk_app_id != 0 && !live.trtc_key.is_empty())
        .then(|| {
            let room = u32::try_from(session_id).ok()?;
            media::trtc_private_map_key(
                live.trtc_sdk_app_id,
                live.trtc_key.expose(),
                &user_id.to_string(),
                room,
                media::ALL_PRIVILEGES,
                now,
                ttl,
            )
            .ok()
            .map(|sig| TrtcGrant {
                sdk_app_id: live.trtc_sdk_app_id,
                user_id: user_id.to_string(),
                private_map_key: sig.clone(),
                user_sig: sig,
                room_id: session_id,
            })
        })
        .flatten();
    Some(MediaGrant {
        ice_servers,
        trtc,
        expires_at_ms: (now + ttl) * 1000,
    })
}
