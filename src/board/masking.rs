//! Privacy masking for text shown on the public message board.
//!
//! [`mask_text`] hides mainland mobile numbers, landlines with an area code, and
//! resident ID numbers (18- and 15-digit) inside free text, and leaves other
//! numbers (years, amounts, house numbers) alone. The README's "What the board
//! masks" table lists every spelling handled; each row is tested below and in
//! `tests/api/privacy.rs`.
//!
//! Residents write numbers in groups (`138 1234 5678`, `138.1234.5678`,
//! `138 - 1234 - 5678`, `1 3 8 1 …`, `522422 19900101 123X`), so the text is read
//! as *chains*: digit groups joined by short separators (up to two spaces, one
//! `-` or `.`, up to two spaces). A number is a run of whole groups of a chain
//! whose digits fit a pattern; digits inside a group never match in part, so a
//! long run (a bank card, an order number) is never masked piecemeal. Where a
//! number spans several groups an ID must carry a valid birth date, which keeps
//! a mobile followed by a year (`13812345678 2025`) from reading as an old ID.
//!
//! Fullwidth digits and punctuation (１３８－…), which Chinese input methods
//! produce, are matched like ASCII ones; masked numbers come out in ASCII.
//!
//! Not masked: bank card numbers and other long digit runs that fit none of the
//! patterns, and landlines written without an area code (they look like amounts).

use chrono::{Datelike, NaiveDate};

/// The longest number we look for: an 18-digit ID (a `+86` mobile has 13 digits).
const MAX_DIGITS: usize = 18;

/// One group of a chain: digits, perhaps ending in an ID's `X`.
#[derive(Clone, Copy)]
struct Group {
    /// Byte range in the normalised text.
    start: usize,
    end: usize,
}

/// A number found: its byte range in the normalised text and its masked form.
struct Found {
    start: usize,
    end: usize,
    masked: String,
}

/// Masks phone and ID numbers in free text.
pub fn mask_text(s: &str) -> String {
    let (norm, orig_at) = normalise(s);
    let mut out = String::with_capacity(s.len());
    let mut copied = 0; // byte offset in `s` copied to `out` so far
    for f in find_numbers(&norm, |a, b| &s[orig_at[a]..orig_at[b]]) {
        out.push_str(&s[copied..orig_at[f.start]]);
        out.push_str(&f.masked);
        copied = orig_at[f.end];
    }
    out.push_str(&s[copied..]);
    out
}

/// Masks a phone number given on its own (a form field): mobiles as
/// `138****5678`, landlines as `0851-****4567`; anything else keeps at most its
/// last four digits and hides at least four.
pub fn mask_phone(phone: &str) -> String {
    let trimmed = phone.trim();
    let (norm, orig_at) = normalise(trimmed);
    let found = find_numbers(&norm, |a, b| &trimmed[orig_at[a]..orig_at[b]]);
    if let [f] = found.as_slice() {
        if f.start == 0 && f.end == norm.len() {
            return f.masked.clone();
        }
    }
    let digits = trimmed.chars().filter(|c| c.is_ascii_digit()).count();
    let keep = digits.saturating_sub(4).min(4);
    let mut seen = 0;
    trimmed
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                seen += 1;
                if seen + keep <= digits {
                    return '*';
                }
            }
            c
        })
        .collect()
}

/// Keeps the first character of a name: 张三 → 张*, 欧阳娜娜 → 欧***.
/// A one-character name is hidden whole.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.trim().chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let rest: String = chars
        .map(|c| if c.is_whitespace() { c } else { '*' })
        .collect();
    if rest.is_empty() {
        "*".to_owned()
    } else {
        format!("{first}{rest}")
    }
}

/// Every number to mask in the normalised text, in order. `orig(a, b)` gives the
/// original text of `norm[a..b]`, so the parts kept unmasked (prefixes, area
/// codes, separators) appear as the resident wrote them.
fn find_numbers<'s>(norm: &str, orig: impl Fn(usize, usize) -> &'s str) -> Vec<Found> {
    let b = norm.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let after_digit = i > 0 && b[i - 1].is_ascii_digit();
        if !after_digit && matches!(b[i], b'0'..=b'9' | b'+' | b'(') {
            if let Some(chain) = read_chain(b, i) {
                i = chain.groups.last().map_or(i + 1, |g| g.end);
                numbers_in(norm, &chain, &orig, &mut found);
                continue;
            }
        }
        // Non-ASCII bytes are never digits, so stepping bytewise is safe.
        i += 1;
    }
    found
}

/// A chain starting at `i`: an optional `+` or `(area)`, then digit groups
/// joined by separators. `None` when `i` starts no digit group.
fn read_chain(b: &[u8], i: usize) -> Option<ChainAt> {
    let digit = |j: usize| b.get(j).is_some_and(u8::is_ascii_digit);
    let mut chain = ChainAt {
        groups: Vec::new(),
        plus: None,
        paren: None,
    };
    let mut j = i;
    match b[i] {
        b'+' => {
            chain.plus = Some(i);
            j += 1;
        }
        b'(' => {
            let k = i + 1;
            let n = (k..b.len()).take_while(|&x| digit(x)).count();
            if !(3..=4).contains(&n) || b[k] != b'0' || b.get(k + n) != Some(&b')') {
                return None;
            }
            chain.groups.push(Group {
                start: k,
                end: k + n,
            });
            chain.paren = Some(i);
            j = k + n + 1;
            j += (j..b.len()).take_while(|&x| b[x] == b' ').take(2).count();
        }
        _ => {}
    }
    if !digit(j) {
        return None;
    }
    loop {
        let start = j;
        while digit(j) {
            j += 1;
        }
        let x = matches!(b.get(j), Some(b'X' | b'x'))
            && !b.get(j + 1).is_some_and(u8::is_ascii_alphanumeric);
        if x {
            j += 1;
        }
        chain.groups.push(Group { start, end: j });
        let sep = separator_len(b, j);
        if x || sep == 0 || !digit(j + sep) {
            break;
        }
        j += sep;
    }
    Some(chain)
}

/// Up to two spaces, one `-` or `.`, up to two spaces: what residents put between groups.
fn separator_len(b: &[u8], at: usize) -> usize {
    let spaces = |from: usize| {
        (from..b.len())
            .take_while(|&x| b[x] == b' ')
            .take(2)
            .count()
    };
    let mut j = at + spaces(at);
    if matches!(b.get(j), Some(b'-' | b'.')) {
        j += 1;
    }
    j + spaces(j) - at
}

struct ChainAt {
    groups: Vec<Group>,
    /// Offset of a leading `+`.
    plus: Option<usize>,
    /// Offset of the `(` when the first group was written `(0851)`.
    paren: Option<usize>,
}

enum Kind {
    Id,
    /// `skip`: digits of a `86` country code before the number.
    Mobile {
        skip: usize,
    },
    /// `area`: digits of the area code.
    Landline {
        area: usize,
    },
}

/// Finds numbers in runs of whole groups, the longest match first at each group.
fn numbers_in<'s>(
    norm: &str,
    chain: &ChainAt,
    orig: &impl Fn(usize, usize) -> &'s str,
    found: &mut Vec<Found>,
) {
    let g = &chain.groups;
    let mut a = 0;
    while a < g.len() {
        let mut digits = String::new();
        let mut pos = Vec::new(); // offset in `norm` of each char of `digits`
        let mut ends = Vec::new(); // (last group, length of `digits`) of each candidate
        for (last, grp) in g.iter().enumerate().skip(a) {
            for (k, c) in norm[grp.start..grp.end].char_indices() {
                digits.push(c);
                pos.push(grp.start + k);
            }
            if digits.len() > MAX_DIGITS {
                break;
            }
            ends.push((last, digits.len()));
        }
        let first_len = g[a].end - g[a].start;
        let paren = (a == 0).then_some(chain.paren).flatten();
        let hit = ends.iter().rev().find_map(|&(last, n)| {
            classify(&digits[..n], last > a, first_len, paren.is_some()).map(|k| (last, n, k))
        });
        let Some((last, n, kind)) = hit else {
            a += 1;
            continue;
        };
        let d = &digits[..n];
        let mut start = g[a].start;
        let masked = match kind {
            Kind::Id => format!("{}{}{}", &d[..3], "*".repeat(n - 5), &d[n - 2..]),
            Kind::Mobile { skip } => {
                if let (0, Some(p), 2) = (a, chain.plus, skip) {
                    start = p;
                }
                let prefix = orig(start, pos[skip]);
                format!("{prefix}{}****{}", &d[skip..skip + 3], &d[skip + 7..])
            }
            Kind::Landline { area } => {
                if let Some(p) = paren {
                    start = p;
                }
                let local = &d[area..];
                // Hide at least four digits, as a masked mobile does.
                let keep = local.len().saturating_sub(4).min(4);
                format!(
                    "{}{}{}",
                    orig(start, pos[area]),
                    "*".repeat(local.len() - keep),
                    &local[local.len() - keep..]
                )
            }
        };
        found.push(Found {
            start,
            end: g[last].end,
            masked,
        });
        a = last + 1;
    }
}

/// What the digits `d` are, if anything to mask. `grouped`: they span several
/// groups, so an ID must carry a valid birth date. `first_len`: digits in the
/// first group (an area code when grouped or in parentheses).
fn classify(d: &str, grouped: bool, first_len: usize, paren: bool) -> Option<Kind> {
    let n = d.len();
    let all_digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    let b = d.as_bytes();
    if n == 18 && all_digits(&d[..17]) {
        return (!grouped || birth_date(&d[6..14])).then_some(Kind::Id);
    }
    if !all_digits(d) {
        return None;
    }
    let mobile_at = |k: usize| b[k] == b'1' && (b'3'..=b'9').contains(&b[k + 1]);
    match n {
        15 => (!grouped || birth_date(&format!("19{}", &d[6..12]))).then_some(Kind::Id),
        11 if mobile_at(0) => Some(Kind::Mobile { skip: 0 }),
        13 if d.starts_with("86") && mobile_at(2) => Some(Kind::Mobile { skip: 2 }),
        10..=12 if b[0] == b'0' => {
            let area = if paren || (grouped && (3..=4).contains(&first_len)) {
                first_len
            } else if matches!(b[1], b'1' | b'2') {
                3
            } else {
                4
            };
            (7..=8)
                .contains(&(n - area))
                .then_some(Kind::Landline { area })
        }
        _ => None,
    }
}

/// `YYYYMMDD` of a plausible birth date.
fn birth_date(s: &str) -> bool {
    NaiveDate::parse_from_str(s, "%Y%m%d").is_ok_and(|d| (1900..=2100).contains(&d.year()))
}

/// Maps fullwidth digits and phone punctuation to ASCII, one char for one char.
/// Returns the normalised text and, for each of its byte offsets that starts a
/// char (and its end), the matching byte offset in `s`.
fn normalise(s: &str) -> (String, Vec<usize>) {
    let mut norm = String::with_capacity(s.len());
    let mut orig_at = Vec::with_capacity(s.len() + 1);
    for (at, c) in s.char_indices() {
        let n = match c {
            '０'..='９' => {
                char::from_u32(u32::from(c) - u32::from('０') + u32::from('0')).unwrap_or(c)
            }
            'Ｘ' => 'X',
            'ｘ' => 'x',
            '＋' => '+',
            '－' | '—' | '–' | '‐' | '‑' | '﹣' => '-',
            '．' => '.',
            '（' => '(',
            '）' => ')',
            '\u{3000}' | '\u{a0}' => ' ',
            _ => c,
        };
        norm.push(n);
        // Offsets inside a multi-byte char are never looked up.
        orig_at.resize(norm.len(), at);
    }
    orig_at.push(s.len());
    (norm, orig_at)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn mobile_numbers_in_chinese_text() {
        assert_eq!(
            mask_text("我的电话13812345678，请尽快联系"),
            "我的电话138****5678，请尽快联系"
        );
        assert_eq!(mask_text("联系人：138-1234-5678"), "联系人：138****5678");
        assert_eq!(mask_text("手机 139 8765 4321 李"), "手机 139****4321 李");
        assert_eq!(mask_text("电话+86 15912345678。"), "电话+86 159****5678。");
        assert_eq!(mask_text("电话+86-159-1234-5678"), "电话+86-159****5678");
        assert_eq!(mask_text("电话8615912345678"), "电话86159****5678");
        assert_eq!(
            mask_text("call me at 18600001111!"),
            "call me at 186****1111!"
        );
        assert_eq!(
            mask_text("我和老伴的手机是13812345678、15987654321"),
            "我和老伴的手机是138****5678、159****4321"
        );
    }

    #[test]
    fn fullwidth_digits_are_masked_too() {
        assert_eq!(
            mask_text("电话：１３８１２３４５６７８"),
            "电话：138****5678"
        );
        assert_eq!(
            mask_text("电话１３８－１２３４－５６７８号"),
            "电话138****5678号"
        );
        assert_eq!(mask_text("２０２５年"), "２０２５年");
    }

    #[test]
    fn landlines_keep_area_code() {
        assert_eq!(
            mask_text("村委会电话0851-2345678"),
            "村委会电话0851-****678"
        );
        assert_eq!(mask_text("座机：010-12345678。"), "座机：010-****5678。");
        assert_eq!(mask_text("打（0851）22334455"), "打（0851）****4455");
        assert_eq!(mask_text("座机0851 2345678号"), "座机0851 ****678号");
    }

    #[test]
    fn id_numbers_keep_first_three_and_last_two() {
        assert_eq!(
            mask_text("身份证号522422199001011234，姓名张三"),
            "身份证号522*************34，姓名张三"
        );
        assert_eq!(
            mask_text("身份证52242219900101123X。"),
            "身份证522*************3X。"
        );
        assert_eq!(
            mask_text("身份证52242219900101123x"),
            "身份证522*************3x"
        );
        assert_eq!(
            mask_text("老身份证522422900101123"),
            "老身份证522**********23"
        );
    }

    #[test]
    fn ordinary_numbers_are_left_alone() {
        for s in [
            "2025年3月5日下午，村里3组有12户停水",
            "补贴5000元还没到账，去年是3600元",
            "幸福路138号旁边的路灯坏了",
            "房号1301，海拔1380米",
            "订单20250305143000123456789",
            "卡号6222021234567890123",
            "面积0.5亩，金额13500.00元",
            "第1390号文件",
        ] {
            assert_eq!(mask_text(s), s);
        }
    }

    #[test]
    fn digits_inside_longer_runs_do_not_match() {
        // 12 digits: neither a mobile (11) nor an ID, and no 11-digit part matches.
        assert_eq!(mask_text("编号138123456789"), "编号138123456789");
        assert_eq!(mask_text("编号913812345678"), "编号913812345678");
        // 19 and 16 digits: no ID match inside.
        assert_eq!(mask_text("5224221990010112345"), "5224221990010112345");
        assert_eq!(mask_text("5224229001011234"), "5224229001011234");
    }

    /// The README's "What the board masks" table: (written, shown) per row.
    pub fn catalogue() -> Vec<(String, String)> {
        let readme = include_str!("../../README.md");
        let table = readme
            .split("### What the board masks")
            .nth(1)
            .expect("README has the masking table");
        let rows: Vec<(String, String)> = table
            .lines()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .filter_map(|l| {
                let spans: Vec<&str> = l.split('`').skip(1).step_by(2).collect();
                (spans.len() == 2).then(|| (spans[0].to_owned(), spans[1].to_owned()))
            })
            .collect();
        assert!(rows.len() >= 20, "table read: {rows:?}");
        rows
    }

    #[test]
    fn every_row_of_the_readme_table() {
        for (written, shown) in catalogue() {
            assert_eq!(mask_text(&written), shown, "alone: {written}");
            assert_eq!(
                mask_text(&format!("电话{written}，请联系")),
                format!("电话{shown}，请联系"),
                "in Chinese text: {written}"
            );
            assert_eq!(
                mask_text(&format!("call {written} now")),
                format!("call {shown} now"),
                "between words: {written}"
            );
        }
    }

    #[test]
    fn groups_that_are_not_one_number() {
        // A mobile then a year: not read as a 15-digit ID.
        assert_eq!(mask_text("13812345678 2025年"), "138****5678 2025年");
        assert_eq!(
            mask_text("138 1234 5678 139 8765 4321"),
            "138****5678 139****4321"
        );
        assert_eq!(mask_text("房号 12 13812345678"), "房号 12 138****5678");
        // Dates, versions, addresses and amounts in groups stay.
        for s in [
            "2025-03-05 14:30",
            "2025.03.05",
            "192.168.1.100",
            "3 组 12 户，每户 500 元",
            "面积 0.5 亩",
            "1 2 3 4 5",
        ] {
            assert_eq!(mask_text(s), s);
        }
        // Three groups that would be an ID but for an impossible birth date.
        assert_eq!(mask_text("522422 19901301 1234"), "522422 19901301 1234");
    }

    #[test]
    fn text_without_numbers_is_unchanged() {
        assert_eq!(mask_text(""), "");
        assert_eq!(mask_text("路灯坏了，请修理。"), "路灯坏了，请修理。");
    }

    #[test]
    fn names() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        assert_eq!(mask_name(" 李四光 "), "李**");
        assert_eq!(mask_name("王"), "*");
        assert_eq!(mask_name(""), "");
        assert_eq!(mask_name("阿依·买买提"), "阿*****");
    }

    #[test]
    fn phones_on_their_own() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone(" 138-1234-5678 "), "138****5678");
        assert_eq!(mask_phone("+8613812345678"), "+86138****5678");
        assert_eq!(mask_phone("0851-2345678"), "0851-****678");
        assert_eq!(mask_phone("2345678"), "****678");
        assert_eq!(mask_phone("12345"), "****5");
        assert_eq!(mask_phone("110"), "***");
        assert_eq!(mask_phone(""), "");
    }
}
