//! Duplicate suggestions for a new appeal, shown to office staff before they
//! accept it ("the same complaint filed many times over").
//!
//! Text similarity is the cosine (Ochiai) coefficient over *sets* of tokens:
//! Chinese characters and character bigrams, and lower-cased ASCII words;
//! punctuation and whitespace ignored, boilerplate and function words (希望,
//! 政府, 解决, 的, 了…) dropped. Bigrams carry the topic (路灯, 停水); single
//! characters let paraphrases match (压坏 / 碾压, 开裂 / 裂缝), which bigrams
//! alone score too low. Cosine rather than Jaccard because a resident's second
//! report is often much shorter or longer than the first: Jaccard divides by
//! the union and so punishes the length difference, cosine by the geometric
//! mean of the two sizes. (On the labelled pairs in the tests both separate
//! about equally well once their thresholds are set; cosine's scores are the
//! higher and easier to read.) Sets rather than counts because repeating a
//! word in a long appeal says little more about what it is about.
//!
//! The rules, checked in this order for each open appeal of another id:
//! 1. [`DuplicateReason::SameAuthorRecent`]: same author, submitted within
//!    [`SAME_AUTHOR_WINDOW_DAYS`] of `now`, similarity ≥ [`SAME_AUTHOR_THRESHOLD`].
//! 2. [`DuplicateReason::SimilarNearby`]: same category, similarity ≥
//!    [`NEARBY_THRESHOLD`], and the same village or, when both have coordinates,
//!    within [`NEARBY_KM`].
//! 3. [`DuplicateReason::SimilarText`]: same category and similarity ≥
//!    [`TEXT_THRESHOLD`] wherever it is: county-wide matters (a subsidy not paid,
//!    a policy question) are asked from many villages.
//!
//! These are suggestions: the office decides whether to merge.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

// The thresholds were set before the labelled pairs in the tests were scored
// and kept; the tokenizer was then improved on those pairs.

/// Similarity needed between two appeals of the same author within the window.
pub const SAME_AUTHOR_THRESHOLD: f64 = 0.2;
/// Similarity needed for appeals of the same category in the same place.
pub const NEARBY_THRESHOLD: f64 = 0.3;
/// Similarity needed for appeals of the same category anywhere in the county.
pub const TEXT_THRESHOLD: f64 = 0.5;
pub const SAME_AUTHOR_WINDOW_DAYS: i64 = 7;
pub const NEARBY_KM: f64 = 2.0;
pub const MAX_SUGGESTIONS: usize = 5;

/// Appeal boilerplate and function words. They split a run of Chinese
/// characters like punctuation does, so no bigram spans them.
/// Longer words first where one contains another.
const STOP_WORDS: &str = "高度重视 相关部门 帮我们 希望 政府 领导 重视 尽快 我们 解决 问题 谢谢 \
    请求 请问 麻烦 帮忙 你好 您好 一下 没有 已经 现在 这个 一个 反映 部门 \
    的 了 是 在 都 也 很 和 就 还 又 着 吗 呢 吧 啊";

#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub id: i64,
    pub author_id: i64,
    pub category_id: i64,
    pub village: String,
    pub title: String,
    pub content: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub submitted_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DuplicateReason {
    SameAuthorRecent,
    SimilarNearby,
    SimilarText,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Suggestion {
    pub id: i64,
    /// Text similarity in [0, 1].
    pub score: f64,
    pub reason: DuplicateReason,
}

/// Cosine similarity of the token sets of `a` and `b`, in [0, 1]; 0 when
/// either has no tokens.
pub fn similarity(a: &str, b: &str) -> f64 {
    set_similarity(&tokens(a), &tokens(b))
}

fn set_similarity(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let common = a.intersection(b).count();
    common as f64 / ((a.len() * b.len()) as f64).sqrt()
}

/// Open appeals that may be the same matter as `new`, best first, at most
/// [`MAX_SUGGESTIONS`].
pub fn find_duplicates(new: &Candidate, open: &[Candidate], now: DateTime<Utc>) -> Vec<Suggestion> {
    let new_tokens = tokens(&text_of(new));
    let mut found: Vec<(Suggestion, DateTime<Utc>)> = open
        .iter()
        .filter(|c| c.id != new.id)
        .filter_map(|c| {
            let score = set_similarity(&new_tokens, &tokens(&text_of(c)));
            reason(new, c, score, now).map(|reason| {
                (
                    Suggestion {
                        id: c.id,
                        score,
                        reason,
                    },
                    c.submitted_at,
                )
            })
        })
        .collect();
    // Ties: the more recent first, then the lower id, so the order is stable.
    found.sort_by(|(a, at), (b, bt)| {
        b.score
            .total_cmp(&a.score)
            .then(bt.cmp(at))
            .then(a.id.cmp(&b.id))
    });
    found
        .into_iter()
        .take(MAX_SUGGESTIONS)
        .map(|(s, _)| s)
        .collect()
}

fn reason(
    new: &Candidate,
    c: &Candidate,
    score: f64,
    now: DateTime<Utc>,
) -> Option<DuplicateReason> {
    // A future timestamp (clock skew) counts as recent.
    let recent =
        now.signed_duration_since(c.submitted_at) <= Duration::days(SAME_AUTHOR_WINDOW_DAYS);
    if c.author_id == new.author_id && recent && score >= SAME_AUTHOR_THRESHOLD {
        return Some(DuplicateReason::SameAuthorRecent);
    }
    if c.category_id != new.category_id {
        return None;
    }
    if score >= NEARBY_THRESHOLD && (same_village(new, c) || within_km(new, c, NEARBY_KM)) {
        return Some(DuplicateReason::SimilarNearby);
    }
    if score >= TEXT_THRESHOLD {
        return Some(DuplicateReason::SimilarText);
    }
    None
}

fn text_of(c: &Candidate) -> String {
    format!("{}\n{}", c.title, c.content)
}

fn same_village(a: &Candidate, b: &Candidate) -> bool {
    let (va, vb) = (a.village.trim(), b.village.trim());
    !va.is_empty() && va == vb
}

fn within_km(a: &Candidate, b: &Candidate, km: f64) -> bool {
    match (coords(a), coords(b)) {
        (Some(pa), Some(pb)) => haversine_km(pa, pb) <= km,
        _ => false,
    }
}

/// Coordinates only when both are present and plausible.
fn coords(c: &Candidate) -> Option<(f64, f64)> {
    let (lat, lng) = (c.lat?, c.lng?);
    let ok = lat.is_finite() && lng.is_finite() && lat.abs() <= 90.0 && lng.abs() <= 180.0;
    ok.then_some((lat, lng))
}

/// Great-circle distance in kilometres between (lat, lng) points in degrees.
pub fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    const EARTH_RADIUS_KM: f64 = 6371.0088;
    let (lat1, lat2) = (a.0.to_radians(), b.0.to_radians());
    let dlat = lat2 - lat1;
    let dlng = (b.1 - a.1).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlng / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// Units and bigrams of adjacent units, where a unit is a Chinese character
/// or an ASCII word (digits included, so 3组 is a bigram). Punctuation and stop
/// words end a run; whitespace does not, as residents put spaces anywhere.
fn tokens(s: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    for run in runs(s) {
        for pair in run.windows(2) {
            out.insert(format!("{}{}", pair[0], pair[1]));
        }
        out.extend(run);
    }
    out
}

fn runs(s: &str) -> Vec<Vec<String>> {
    let chars: Vec<char> = s.chars().map(fold_fullwidth).collect();
    let mut runs = Vec::new();
    let mut run: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_alphanumeric() {
            let len = chars[i..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric())
                .count();
            run.push(
                chars[i..i + len]
                    .iter()
                    .map(char::to_ascii_lowercase)
                    .collect(),
            );
            i += len;
        } else if is_han(c) && stop_word_len(&chars[i..]) == 0 {
            // Village groups are written both ways: 三组 and 3组.
            let unit = match (numeral(c), chars.get(i + 1)) {
                (Some(d), Some('组')) => d.to_string(),
                _ => c.to_string(),
            };
            run.push(unit);
            i += 1;
        } else {
            runs.push(std::mem::take(&mut run));
            i += stop_word_len(&chars[i..]).max(1);
        }
    }
    runs.push(run);
    runs.retain(|r| !r.is_empty());
    runs
}

/// Length in chars of the stop word `chars` starts with, or 0.
fn stop_word_len(chars: &[char]) -> usize {
    STOP_WORDS
        .split_whitespace()
        .find(|w| {
            let n = w.chars().count();
            chars.len() >= n && w.chars().zip(chars).all(|(a, &b)| a == b)
        })
        .map_or(0, |w| w.chars().count())
}

fn numeral(c: char) -> Option<u32> {
    "一二三四五六七八九"
        .chars()
        .position(|n| n == c)
        .and_then(|p| u32::try_from(p + 1).ok())
}

fn is_han(c: char) -> bool {
    matches!(c,
        '\u{4E00}'..='\u{9FFF}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2EBEF}')
}

/// Fullwidth ASCII (Ａ, ３) as typed by Chinese input methods.
fn fold_fullwidth(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 10, 2, 0, 0).unwrap()
    }

    /// One side of a labelled pair.
    struct Side {
        author: i64,
        category: i64,
        village: &'static str,
        at: Option<(f64, f64)>,
        days_ago: i64,
        title: &'static str,
        content: &'static str,
    }

    struct Case {
        name: &'static str,
        duplicate: bool,
        new: Side,
        open: Side,
    }

    fn candidate(id: i64, s: &Side) -> Candidate {
        Candidate {
            id,
            author_id: s.author,
            category_id: s.category,
            village: s.village.to_owned(),
            title: s.title.to_owned(),
            content: s.content.to_owned(),
            lat: s.at.map(|p| p.0),
            lng: s.at.map(|p| p.1),
            submitted_at: now() - Duration::days(s.days_ago),
        }
    }

    // Categories.
    const ROADS: i64 = 1;
    const WATER: i64 = 2;
    const POWER: i64 = 3;
    const SUBSIDY: i64 = 4;
    const SCHOOL: i64 = 5;
    const HAZARD: i64 = 6;
    const SANITATION: i64 = 7;
    const TELECOM: i64 = 8;
    const TRANSPORT: i64 = 9;

    // Village centres (lat, lng).
    const BAIYAN: (f64, f64) = (26.530, 107.620);
    const XINTIAN: (f64, f64) = (26.540, 107.625); // ~1.2 km from BAIYAN
    const JIZHEN: (f64, f64) = (26.510, 107.520);
    const SHABA: (f64, f64) = (26.520, 107.530); // ~1.5 km from JIZHEN
    const SHIBAN: (f64, f64) = (26.560, 107.430);
    const MUGUA: (f64, f64) = (26.650, 107.400); // ~10 km from SHIBAN
    const PINGSHANG: (f64, f64) = (26.600, 107.480);
    const YANJIAO: (f64, f64) = (26.680, 107.520); // ~10 km from PINGSHANG

    // Texts used by more than one pair.
    const ROAD_3: (&str, &str) = (
        "3组通组路被压坏",
        "青杠村3组到村委会的通组公路被拉砂石的大货车压坏了，路面好几处大坑，下雨天积水，摩托车经常摔倒，希望尽快修补。",
    );
    const WATER_CUT: (&str, &str) = (
        "石板村停水五天",
        "石板村已经停水五天了，村里自来水管道爆裂一直没人来修，老人小孩吃水要到两公里外去挑，请帮忙解决。",
    );
    const LIGHTS: (&str, &str) = (
        "村口到学校路灯坏了",
        "龙潭村村口到学校那段路的路灯坏了一个多月，晚上学生放学黑灯瞎火，很不安全。",
    );
    const SUBSIDY_Q: (&str, &str) = (
        "耕地地力保护补贴什么时候发",
        "2024年的耕地地力保护补贴到现在还没有发到一卡通上，问了村里说不清楚，请问什么时候发放？",
    );
    const BUS: (&str, &str) = (
        "白岩小学校车取消了",
        "白岩小学的校车这学期取消了，孩子每天要走一个多小时山路上学，能不能恢复校车？",
    );
    const SLOPE: (&str, &str) = (
        "5组后山有滑坡隐患",
        "坪上村5组后山出现裂缝，下大雨时有泥土石块往下掉，山下住着七八户人家，担心发生滑坡。",
    );
    const DITCH: (&str, &str) = (
        "排水沟堵塞还没人处理",
        "我上周反映的家门口排水沟堵塞的问题还没有人来处理，污水都漫到路上了。",
    );
    const OUTAGE: (&str, &str) = (
        "马家寨经常停电",
        "马家寨最近经常停电，一天停好几次，电压也不稳，冰箱都烧坏了。",
    );
    const BRIDGE: (&str, &str) = (
        "河坝村木桥桥板烂了",
        "河坝村过河的那座木桥桥板烂了好几块，学生和老人过桥很危险，请求维修或者修座新桥。",
    );
    const GARBAGE: (&str, &str) = (
        "农贸市场垃圾池没人清运",
        "集镇农贸市场旁边的垃圾池好几天没人清运，臭气熏天，苍蝇很多。",
    );
    const SIGNAL: (&str, &str) = (
        "4组没有手机信号",
        "高峰村4组手机信号很差，打电话要爬到山顶上，孩子上网课都没有信号。",
    );
    const DUST: (&str, &str) = (
        "公路施工扬尘大",
        "县城至乡政府的公路正在施工，工地扬尘太大，沿路住户家里全是灰，也没有洒水车洒水。",
    );
    const SQUARE_LIGHTS: (&str, &str) = (
        "新寨村广场路灯不亮",
        "新寨村文化广场的路灯晚上都不亮了，跳广场舞的老人看不见，容易摔跤。",
    );

    fn side(
        author: i64,
        category: i64,
        village: &'static str,
        at: Option<(f64, f64)>,
        days_ago: i64,
        text: (&'static str, &'static str),
    ) -> Side {
        Side {
            author,
            category,
            village,
            at,
            days_ago,
            title: text.0,
            content: text.1,
        }
    }

    fn dup(name: &'static str, new: Side, open: Side) -> Case {
        Case {
            name,
            duplicate: true,
            new,
            open,
        }
    }

    fn distinct(name: &'static str, new: Side, open: Side) -> Case {
        Case {
            name,
            duplicate: false,
            new,
            open,
        }
    }

    /// Realistic pairs from a mountain county, labelled by whether the office
    /// should see the open one as the same matter. Hard cases on purpose: the
    /// same place with a different problem, the same problem in a far village,
    /// shared boilerplate, a wrongly chosen category.
    fn labelled() -> Vec<Case> {
        vec![
            dup(
                "road potholes, 3组 vs 三组",
                side(11, ROADS, "青杠村", None, 0, ROAD_3),
                side(12, ROADS, "青杠村", None, 4, (
                    "青杠村三组公路坑洼严重",
                    "青杠村三组通往村委会的公路路面坑坑洼洼，大车碾压后出现多个大坑，雨天坑里积水很深，骑摩托车很危险，请求修补路面。",
                )),
            ),
            dup(
                "water cut, burst pipe",
                side(21, WATER, "石板村", Some(SHIBAN), 0, WATER_CUT),
                side(22, WATER, "石板村", None, 2, (
                    "自来水停了好几天",
                    "石板村自来水停了好几天，听说是水管爆了，到现在都没有人来修，我们只能去很远的地方挑水吃。",
                )),
            ),
            dup(
                "street lights to school",
                side(31, POWER, "龙潭村", None, 0, LIGHTS),
                side(32, POWER, "龙潭村", None, 10, (
                    "路灯不亮",
                    "龙潭村村口往学校方向的路灯已经坏了一个多月了，晚上一片漆黑，孩子们放学回家不安全，希望修好路灯。",
                )),
            ),
            dup(
                "farmland subsidy asked from two villages",
                side(41, SUBSIDY, "新寨村", None, 0, SUBSIDY_Q),
                side(42, SUBSIDY, "高峰村", None, 6, (
                    "耕地地力保护补贴还没到账",
                    "今年的耕地地力保护补贴为什么还没有打到一卡通里？村干部也说不清楚，想问一下具体发放时间。",
                )),
            ),
            dup(
                "school bus, neighbouring villages",
                side(51, SCHOOL, "白岩村", Some(BAIYAN), 0, BUS),
                side(52, SCHOOL, "新田村", Some(XINTIAN), 3, (
                    "请求恢复白岩小学校车",
                    "白岩小学今年秋季学期没有校车了，娃娃上学要走一个多小时的山路，下雨天路滑很危险，请求恢复校车接送。",
                )),
            ),
            dup(
                "landslide risk behind group 5",
                side(61, HAZARD, "坪上村", Some(PINGSHANG), 0, SLOPE),
                side(62, HAZARD, "坪上村", Some(PINGSHANG), 1, (
                    "后山山体开裂",
                    "坪上村五组后面的山体开裂了，最近雨多，不断有石头滚下来，下面有好几户人家，请派人来看看有没有滑坡危险。",
                )),
            ),
            dup(
                "same author chases a blocked ditch",
                side(71, SANITATION, "集镇社区", None, 0, DITCH),
                side(71, SANITATION, "集镇社区", None, 6, (
                    "家门口排水沟堵塞",
                    "我家门口的排水沟被垃圾堵住了，一下雨污水就流到路面上，麻烦安排人清理一下。",
                )),
            ),
            dup(
                "power cuts burn appliances",
                side(81, POWER, "马家寨", None, 0, OUTAGE),
                side(82, POWER, "马家寨", None, 5, (
                    "停电频繁电压不稳",
                    "马家寨这段时间老是停电，电压不稳定，家里电器烧坏了好几样，请供电所来检查线路。",
                )),
            ),
            dup(
                "rotten footbridge",
                side(91, ROADS, "河坝村", None, 0, BRIDGE),
                side(92, ROADS, "河坝村", None, 8, (
                    "木桥危险",
                    "河坝村河上的木桥桥面木板腐烂断裂，老人孩子过桥随时可能掉下去，希望尽快维修。",
                )),
            ),
            dup(
                "market garbage pit",
                side(101, SANITATION, "集镇社区", Some(JIZHEN), 0, GARBAGE),
                side(102, SANITATION, "集镇社区", None, 2, (
                    "垃圾池满了",
                    "镇上农贸市场边上的垃圾池已经满了好多天了，没人来清运，气味很难闻，招苍蝇。",
                )),
            ),
            dup(
                "no mobile signal, 4组 vs 四组",
                side(111, TELECOM, "高峰村", None, 0, SIGNAL),
                side(112, TELECOM, "高峰村", None, 12, (
                    "请求建信号塔",
                    "高峰村四组基本没有手机信号，打个电话都要跑到山坡上，学生上网课很困难，希望建信号塔。",
                )),
            ),
            dup(
                "construction dust, villages 1.5 km apart",
                side(121, SANITATION, "集镇社区", Some(JIZHEN), 0, DUST),
                side(122, SANITATION, "沙坝村", Some(SHABA), 3, (
                    "施工扬尘严重",
                    "乡政府到县城的那条路施工扬尘特别严重，路边人家门窗都是灰，希望施工方每天洒水降尘。",
                )),
            ),
            dup(
                "same author, minimum living allowance, few shared words",
                side(131, SUBSIDY, "水井村", None, 0, (
                    "低保还是没消息",
                    "低保的事情还是没有消息，家里老人生病，实在困难。",
                )),
                side(131, SUBSIDY, "水井村", None, 5, (
                    "申请低保三个月没结果",
                    "我家申请低保已经三个月了，一直没有审批结果，父亲长期卧病在床，家庭非常困难，请帮忙问问进度。",
                )),
            ),
            dup(
                "yellow tap water",
                side(141, WATER, "水井村", None, 0, (
                    "自来水发黄",
                    "水井村的自来水最近发黄有异味，烧开后有沉淀，不敢喝。",
                )),
                side(142, WATER, "水井村", None, 9, (
                    "水质有问题",
                    "水井村自来水颜色发黄，还有一股怪味，烧开以后底下有一层沉淀，担心水质有问题。",
                )),
            ),
            dup(
                "square lights filed under roads by mistake",
                side(151, POWER, "新寨村", None, 0, SQUARE_LIGHTS),
                side(152, ROADS, "新寨村", None, 4, (
                    "广场没有灯",
                    "新寨村文化广场晚上路灯不亮，黑漆漆的，老人跳舞摔了好几次。",
                )),
            ),
            dup(
                "same author repeats after 20 days",
                side(161, TRANSPORT, "岩脚村", None, 0, (
                    "岩脚村客运班车停运",
                    "岩脚村到镇上的客运班车停了快一个月了，村民赶场看病都要走路或者包车，很不方便，希望恢复班车。",
                )),
                side(161, TRANSPORT, "岩脚村", None, 20, (
                    "班车停运一个月",
                    "岩脚村到镇上的班车停运了，老百姓赶场、看病只能包车，费用很高，请尽快恢复客运班车。",
                )),
            ),
            // Not duplicates.
            distinct(
                "same village roads, other group and problem",
                side(11, ROADS, "青杠村", None, 0, ROAD_3),
                side(13, ROADS, "青杠村", None, 15, (
                    "7组入户路没硬化",
                    "青杠村7组的入户路还是泥巴路，下雨天根本没法走，希望纳入硬化项目。",
                )),
            ),
            distinct(
                "same village water, fee question",
                side(21, WATER, "石板村", Some(SHIBAN), 0, WATER_CUT),
                side(23, WATER, "石板村", None, 20, (
                    "水费太贵",
                    "石板村的水费收得比邻村高，每吨四块钱，想问收费标准是怎么定的。",
                )),
            ),
            distinct(
                "street lights in another village",
                side(31, POWER, "龙潭村", None, 0, LIGHTS),
                side(153, POWER, "新寨村", None, 3, SQUARE_LIGHTS),
            ),
            distinct(
                "forest compensation, not farmland subsidy",
                side(41, SUBSIDY, "新寨村", None, 0, SUBSIDY_Q),
                side(43, SUBSIDY, "木瓜村", None, 7, (
                    "生态公益林补偿金没到账",
                    "今年的生态公益林补偿资金到现在还没有打到一卡通上，村里也说不清楚，请问什么时候发放？",
                )),
            ),
            distinct(
                "same school, canteen",
                side(51, SCHOOL, "白岩村", Some(BAIYAN), 0, BUS),
                side(53, SCHOOL, "白岩村", Some(BAIYAN), 2, (
                    "白岩小学食堂饭菜少",
                    "白岩小学食堂的饭菜分量太少，孩子中午吃不饱，营养餐的钱是不是都用在孩子身上了？",
                )),
            ),
            distinct(
                "same group, collapsed retaining wall",
                side(61, HAZARD, "坪上村", Some(PINGSHANG), 0, SLOPE),
                side(63, HAZARD, "坪上村", None, 4, (
                    "公路堡坎垮塌",
                    "坪上村5组公路边的堡坎垮塌了一截，路面只剩一半宽，晚上过车很危险。",
                )),
            ),
            distinct(
                "same author, another matter",
                side(71, SANITATION, "集镇社区", None, 0, DITCH),
                side(71, SUBSIDY, "集镇社区", None, 3, (
                    "危房改造补助没领到",
                    "我家的危房改造补助到现在还没有领到，房子已经修好半年了。",
                )),
            ),
            distinct(
                "same hamlet, move a pole",
                side(81, POWER, "马家寨", None, 0, OUTAGE),
                side(83, POWER, "马家寨", None, 6, (
                    "电线杆挪位置",
                    "马家寨有根电线杆立在我家承包地中间，影响耕种，申请供电所把电杆挪到地边。",
                )),
            ),
            distinct(
                "shared boilerplate, bus vs garbage",
                side(93, TRANSPORT, "河坝村", None, 0, (
                    "班车太少",
                    "河坝村到乡里的客运班车每天只有一趟，错过了就只能走路。希望政府领导高度重视，尽快帮我们解决问题，谢谢！",
                )),
                side(94, TRANSPORT, "河坝村", None, 2, (
                    "垃圾没人收",
                    "河坝村的生活垃圾没有人收，大家都倒在河边。希望政府领导高度重视，尽快帮我们解决问题，谢谢！",
                )),
            ),
            distinct(
                "same group, broadband not signal",
                side(111, TELECOM, "高峰村", None, 0, SIGNAL),
                side(113, TELECOM, "高峰村", None, 10, (
                    "想开通宽带",
                    "高峰村4组想开通宽带，电信营业厅说我们组没有光纤，什么时候能拉光纤进村？",
                )),
            ),
            distinct(
                "water cut in a far village",
                side(21, WATER, "石板村", Some(SHIBAN), 0, WATER_CUT),
                side(24, WATER, "木瓜村", Some(MUGUA), 1, (
                    "木瓜村停水三天",
                    "木瓜村已经停水三天了，修路的挖机把自来水管道挖断了，一直没人来修。",
                )),
            ),
            distinct(
                "market, stalls not garbage",
                side(101, SANITATION, "集镇社区", Some(JIZHEN), 0, GARBAGE),
                side(103, SANITATION, "集镇社区", None, 1, (
                    "农贸市场占道经营",
                    "集镇农贸市场门口乱摆摊占道经营，车辆过不去，经常堵车。",
                )),
            ),
            distinct(
                "bridge vs river silt",
                side(91, ROADS, "河坝村", None, 0, BRIDGE),
                side(95, WATER, "河坝村", None, 5, (
                    "河道淤积",
                    "河坝村河道淤积严重，一下大雨河水就漫进田里，庄稼都被淹了，希望清淤。",
                )),
            ),
            distinct(
                "landslide risk in a far village",
                side(61, HAZARD, "坪上村", Some(PINGSHANG), 0, SLOPE),
                side(64, HAZARD, "岩脚村", Some(YANJIAO), 2, (
                    "岩脚村后山滑坡隐患",
                    "岩脚村2组后山有一道裂缝，下雨时有石头滚下来，担心滑坡压到房子。",
                )),
            ),
            distinct(
                "same road works, night noise not dust",
                side(121, SANITATION, "集镇社区", Some(JIZHEN), 0, DUST),
                side(123, SANITATION, "集镇社区", None, 1, (
                    "夜间施工噪音大",
                    "乡政府到县城那条路晚上施工到十二点，机器噪音很大，影响休息。",
                )),
            ),
            distinct(
                "school speed bump vs street lights",
                side(31, POWER, "龙潭村", None, 0, LIGHTS),
                side(33, ROADS, "龙潭村", None, 3, (
                    "学校门口需要减速带",
                    "龙潭村学校门口车速太快，希望安装减速带和警示牌。",
                )),
            ),
            distinct(
                "same author, pension vs medical insurance",
                side(171, SUBSIDY, "沙坝村", None, 0, (
                    "养老保险缴费",
                    "我想问一下城乡居民养老保险今年的缴费标准是多少，在哪里缴？",
                )),
                side(171, SUBSIDY, "沙坝村", None, 2, (
                    "医保缴费",
                    "今年的城乡居民医疗保险在哪里缴费，缴费标准是多少？",
                )),
            ),
        ]
    }

    #[test]
    fn precision_and_recall_on_labelled_pairs() {
        let cases = labelled();
        let (mut tp, mut fp, mut fn_, mut tn) = (0, 0, 0, 0);
        for case in &cases {
            let new = candidate(1, &case.new);
            let open = candidate(2, &case.open);
            let got = find_duplicates(&new, std::slice::from_ref(&open), now());
            let score = similarity(&text_of(&new), &text_of(&open));
            let flagged = !got.is_empty();
            let verdict = match (case.duplicate, flagged) {
                (true, true) => {
                    tp += 1;
                    "TP"
                }
                (false, true) => {
                    fp += 1;
                    "FP"
                }
                (true, false) => {
                    fn_ += 1;
                    "FN"
                }
                (false, false) => {
                    tn += 1;
                    "TN"
                }
            };
            println!(
                "{verdict} {score:.3} {:?} {}",
                got.first().map(|s| s.reason),
                case.name
            );
        }
        let precision = f64::from(tp) / f64::from(tp + fp);
        let recall = f64::from(tp) / f64::from(tp + fn_);
        println!(
            "pairs={} tp={tp} fp={fp} fn={fn_} tn={tn} precision={precision:.3} recall={recall:.3}",
            cases.len()
        );
        assert!(cases.len() >= 30);
        assert!(precision >= 0.8, "precision {precision:.3}");
        assert!(recall >= 0.7, "recall {recall:.3}");
    }

    #[test]
    fn similarity_ignores_punctuation_and_spacing() {
        let a = "路灯坏掉，请修理！";
        let b = "路灯 坏掉，请 修理";
        assert!((similarity(a, b) - 1.0).abs() < 1e-9);
        assert_eq!(similarity("", "路灯"), 0.0);
        assert_eq!(similarity("，。！", "路灯"), 0.0);
        assert_eq!(similarity("路灯坏了", "水费太贵"), 0.0);
        assert!((similarity("4G signal", "4g SIGNAL") - 1.0).abs() < 1e-9);
        assert!((similarity("Ｇ４路", "g4路") - 1.0).abs() < 1e-9);
        let s = similarity("石板村停水五天", "石板村停水三天");
        assert!(s > 0.5 && s < 1.0, "{s}");
    }

    #[test]
    fn boilerplate_adds_no_tokens() {
        assert!(tokens("希望政府领导高度重视，尽快帮我们解决问题，谢谢！").is_empty());
        let a = tokens("三组路灯坏了");
        assert!(a.contains("3组") && a.contains("路灯") && a.contains("灯"));
        assert!(!a.contains("坏了") && !a.contains("了"));
    }

    #[test]
    fn haversine_matches_known_distance() {
        // One degree of latitude is about 111.2 km.
        let d = haversine_km((26.0, 107.0), (27.0, 107.0));
        assert!((d - 111.2).abs() < 0.2, "{d}");
        assert!(haversine_km(JIZHEN, SHABA) < NEARBY_KM);
        assert!(haversine_km(SHIBAN, MUGUA) > 5.0);
    }

    fn base(id: i64) -> Candidate {
        candidate(id, &side(id, ROADS, "青杠村", None, 1, ROAD_3))
    }

    #[test]
    fn sorted_capped_and_excludes_itself() {
        let new = base(1);
        let mut open: Vec<Candidate> = (2..10).map(base).collect();
        open.push(base(1));
        open[0].content.push_str("另外路边水沟也堵了");
        let got = find_duplicates(&new, &open, now());
        assert_eq!(got.len(), MAX_SUGGESTIONS);
        assert!(got.iter().all(|s| s.id != 1));
        assert!(got.windows(2).all(|w| w[0].score >= w[1].score));
        // Equal scores: lower id first (same timestamps); the edited one is last.
        assert_eq!(got[0].id, 3);
        assert!(got.iter().all(|s| s.id != 2));
    }

    #[test]
    fn reasons() {
        let new = base(1);
        let mut same_author = base(2);
        same_author.author_id = new.author_id;
        same_author.category_id = SCHOOL;
        assert_eq!(
            find_duplicates(&new, &[same_author.clone()], now())[0].reason,
            DuplicateReason::SameAuthorRecent
        );
        // Outside the window and in another category: nothing.
        same_author.submitted_at = now() - Duration::days(8);
        assert!(find_duplicates(&new, &[same_author], now()).is_empty());

        let mut far = base(3);
        far.village = "木瓜村".into();
        assert_eq!(
            find_duplicates(&new, &[far.clone()], now())[0].reason,
            DuplicateReason::SimilarText
        );
        let mut near = far.clone();
        let mut new_here = new.clone();
        new_here.lat = Some(JIZHEN.0);
        new_here.lng = Some(JIZHEN.1);
        near.lat = Some(SHABA.0);
        near.lng = Some(SHABA.1);
        assert_eq!(
            find_duplicates(&new_here, &[near], now())[0].reason,
            DuplicateReason::SimilarNearby
        );
        far.category_id = WATER;
        assert!(find_duplicates(&new, &[far], now()).is_empty());
    }

    #[test]
    fn bad_coordinates_are_ignored() {
        let mut a = base(1);
        let mut b = base(2);
        b.village = "木瓜村".into();
        a.lat = Some(f64::NAN);
        a.lng = Some(107.5);
        b.lat = Some(26.5);
        b.lng = Some(107.5);
        assert!(!within_km(&a, &b, NEARBY_KM));
        a.lat = Some(26.5);
        assert!(within_km(&a, &b, NEARBY_KM));
    }
}
