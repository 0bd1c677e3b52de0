//! Demo mode: a fake WeChat on loopback and a small data set, so a newcomer can log in as any
//! role at once. Codes `admin-1`, `office-1`, `handler-1`, `leader-1` log in as the seeded staff;
//! any other code (e.g. `alice-1`) logs in as a new resident. Each code works once, like
//! WeChat's, but a retry within five minutes returns the same login.
use std::net::SocketAddr;

use entity::{departments, users};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use crate::auth::Role;
use crate::clock::SharedClock;
use crate::wechat::fake::openid_for;

pub const DEPARTMENTS: [&str; 4] = ["县水务局", "县交通运输局", "县农业农村局", "城关镇人民政府"];

/// Demo mode hands out staff logins to anyone who can reach it, so it stays on loopback unless
/// the operator insists.
pub fn check_bind(bind: &str, force: bool) -> Result<(), String> {
    let loopback = match bind.parse::<SocketAddr>() {
        Ok(a) => a.ip().is_loopback(),
        Err(_) => bind.starts_with("localhost:"),
    };
    if loopback || force {
        Ok(())
    } else {
        Err(format!(
            "refusing to start demo mode on {bind}: demo mode lets anyone log in as an admin \
             with a guessable code, so it only listens on loopback (127.0.0.1 or ::1). \
             Pass --force-demo to expose it anyway."
        ))
    }
}

pub async fn seed(db: &DatabaseConnection, clock: &SharedClock) -> anyhow::Result<()> {
    let now = clock.now();
    let mut first_dept = None;
    for name in DEPARTMENTS {
        let existing = departments::Entity::find()
            .filter(departments::Column::Name.eq(name))
            .one(db)
            .await?;
        let d = match existing {
            Some(d) => d,
            None => {
                departments::ActiveModel {
                    name: Set(name.into()),
                    created_at: Set(now),
                    ..Default::default()
                }
                .insert(db)
                .await?
            }
        };
        first_dept.get_or_insert(d.id);
    }
    let staff = [
        ("admin", Role::Admin, "演示管理员", None),
        ("office", Role::Office, "中心受理员", None),
        ("handler", Role::Handler, "水务局办理员", first_dept),
        ("leader", Role::Leader, "县长（演示）", None),
    ];
    for (who, role, name, dept) in staff {
        let openid = openid_for(who);
        if users::Entity::find()
            .filter(users::Column::Openid.eq(&openid))
            .one(db)
            .await?
            .is_some()
        {
            continue;
        }
        users::ActiveModel {
            openid: Set(openid),
            role: Set(role),
            department_id: Set(dept),
            display_name: Set(Some(name.into())),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    seed_board(db, now).await?;
    seed_rota(db, now).await?;
    tracing::info!(
        "demo data ready: log in with codes admin-1, office-1, handler-1, leader-1 or <anyname>-1"
    );
    Ok(())
}

async fn seed_board(
    db: &DatabaseConnection,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    use crate::board::catalog::{self, NewCategory, NewVillage};
    use crate::board::workflow::Urgency;
    if crate::calendar::store::list(db, None)
        .await
        .map_err(app)?
        .is_empty()
    {
        crate::calendar::store::import_csv(db, crate::calendar::store::CN_2025_2026, now)
            .await
            .map_err(app)?;
    }
    if catalog::list_categories(db).await.map_err(app)?.is_empty() {
        let depts = crate::org::store::list(db).await.map_err(app)?;
        let id = |name: &str| depts.iter().find(|d| d.name == name).map(|d| d.id);
        let cats = [
            ("饮水安全", "县水务局", Some(Urgency::Urgent)),
            ("道路交通", "县交通运输局", Some(Urgency::TimeLimited)),
            ("农业补贴", "县农业农村局", None),
            ("其他", "城关镇人民政府", None),
        ];
        for (name, dept, urgency) in cats {
            if let Some(d) = id(dept) {
                let req = NewCategory {
                    name: name.into(),
                    default_department_id: d,
                    suggested_urgency: urgency,
                };
                catalog::create_category(db, &req, now).await.map_err(app)?;
            }
        }
        let villages = [
            ("石门村", "城关镇", 26.58, 106.71),
            ("白岩村", "城关镇", 26.60, 106.74),
            ("高坡村", "高坡乡", 26.42, 106.90),
        ];
        for (name, township, lat, lng) in villages {
            let req = NewVillage {
                name: name.into(),
                township: township.into(),
                lat: Some(lat),
                lng: Some(lng),
            };
            catalog::create_village(db, &req, now).await.map_err(app)?;
        }
    }
    Ok(())
}

/// The demo leader gets a profile, so a rota can be generated at once.
async fn seed_rota(
    db: &DatabaseConnection,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    use entity::leaders;
    let Some(leader) = users::Entity::find()
        .filter(users::Column::Openid.eq(openid_for("leader")))
        .one(db)
        .await?
    else {
        return Ok(());
    };
    if leaders::Entity::find_by_id(leader.id)
        .one(db)
        .await?
        .is_none()
    {
        leaders::ActiveModel {
            user_id: Set(leader.id),
            display_name: Set("演示县长".into()),
            title: Set("县长".into()),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

fn app(e: crate::error::AppError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn demo_stays_on_loopback_unless_forced() {
        assert!(super::check_bind("127.0.0.1:8080", false).is_ok());
        assert!(super::check_bind("[::1]:8080", false).is_ok());
        assert!(super::check_bind("localhost:8080", false).is_ok());
        let err = super::check_bind("0.0.0.0:8080", false).unwrap_err();
        assert!(err.contains("--force-demo"));
        assert!(super::check_bind("0.0.0.0:8080", true).is_ok());
    }
}
