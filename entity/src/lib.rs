//! sea-orm entities: one file per table, no logic (model logic lives in the server crate).
pub mod appeal_assisting_departments;
pub mod appeal_events;
pub mod appeal_grams;
pub mod appeal_intakes;
pub mod appeals;
pub mod calendar_days;
pub mod categories;
pub mod consultation_events;
pub mod consultation_response_versions;
pub mod consultation_responses;
pub mod consultations;
pub mod departments;
pub mod idempotency_keys;
pub mod import_jobs;
pub mod invitations;
pub mod leader_unavailable_dates;
pub mod leaders;
pub mod live_outcomes;
pub mod live_registrations;
pub mod live_room_events;
pub mod live_session_events;
pub mod live_sessions;
pub mod notification_attempts;
pub mod notifications;
pub mod refresh_tokens;
pub mod rota_versions;
pub mod rotas;
pub mod sensitive_words;
pub mod subscription_consents;
pub mod supervision_notices;
pub mod synonyms;
pub mod users;
pub mod villages;

/// A state or kind stored as its snake_case name (a sea-orm active enum over a string column),
/// spelled the same by serde, strum (`Display`, `FromStr`, `&'static str`) and the OpenAPI
/// schema. One macro so that the eleven such enums cannot drift apart in what they derive.
#[macro_export]
macro_rules! stored_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($body:tt)* }) => {
        $(#[$meta])*
        #[derive(
            Clone,
            Copy,
            Debug,
            PartialEq,
            Eq,
            Hash,
            EnumIter,
            DeriveActiveEnum,
            Serialize,
            Deserialize,
            strum::IntoStaticStr,
            strum::EnumString,
            strum::Display,
            utoipa::ToSchema,
        )]
        #[sea_orm(
            rs_type = "String",
            db_type = "String(StringLen::None)",
            rename_all = "snake_case"
        )]
        #[serde(rename_all = "snake_case")]
        #[strum(serialize_all = "snake_case")]
        pub enum $name { $($body)* }
    };
}

/// The stored spelling of a state (strum's `IntoStaticStr`: the same snake_case as the sea-orm
/// active enum and serde), for messages and JSON details.
pub trait AsStr: Copy + Into<&'static str> {
    fn as_str(self) -> &'static str {
        self.into()
    }
}

impl<T: Copy + Into<&'static str>> AsStr for T {}
