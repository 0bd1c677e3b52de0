//! Privacy masking for text shown on the public message board.
//!
//! [`mask_text`] hides mainland mobile numbers, landlines with an area code, and
//! resident ID numbers (18- and 15-digit) inside free text, and leaves other
//! numbers (years, amounts, house numbers) alone. The `regex` crate has no
//! lookaround, so matches are tried only where a digit run starts and must end
//! where the run ends: digits inside a longer run never match in part.
//!
//! Fullwidth digits and punctuation (１３８－…), which Chinese input methods
//! produce, are matched like ASCII ones; masked numbers come out in ASCII.
//!
//! Not masked: bank card numbers and other long digit runs that fit none of the
//! patterns, and landlines written without an area code (they look like amounts).

use std::sync::LazyLock;

use regex::{Captures, Regex};

struct Patterns {
    id18: Regex,
    id15: Regex,
    mobile: Regex,
    landline: Regex,
}

// Anchored: each is tried at one position of the normalised text.
static PATTERNS: LazyLock<Option<Patterns>> = LazyLock::new(|| {
    Some(Patterns {
        id18: Regex::new(r"^[0-9]{17}[0-9Xx]").ok()?,
        id15: Regex::new(r"^[0-9]{15}").ok()?,
        mobile: Regex::new(r"^(\+?86[ -]?)?(1[3-9][0-9])[ -]?([0-9]{4})[ -]?([0-9]{4})").ok()?,
        landline: Regex::new(r"^(\(0[0-9]{2,3}\)|0[0-9]{2,3})([ -]?)([0-9]{7,8})").ok()?,
    })
});

/// Masks phone and ID numbers in free text.
pub fn mask_text(s: &str) -> String {
    let Some(p) = PATTERNS.as_ref() else {
        return mask_long_digit_runs(s);
    };
    let (norm, orig_at) = normalise(s);
    let mut out = String::with_capacity(s.len());
    let mut copied = 0; // byte offset in `s` copied to `out` so far
    let mut prev: Option<char> = None;
    let mut i = 0; // byte offset in `norm`
    while let Some(c) = norm[i..].chars().next() {
        let starts_run = c.is_ascii_digit() && !prev.is_some_and(|p| p.is_ascii_digit());
        let starts_prefix = (c == '+' || c == '(') && !prev.is_some_and(|p| p.is_ascii_digit());
        if starts_run || starts_prefix {
            let rest = &norm[i..];
            if let Some((len, masked)) =
                match_at(p, rest, |a, b| &s[orig_at[i + a]..orig_at[i + b]])
            {
                out.push_str(&s[copied..orig_at[i]]);
                out.push_str(&masked);
                copied = orig_at[i + len];
                prev = rest[..len].chars().next_back();
                i += len;
                continue;
            }
            if starts_run {
                // Skip the whole run so no match can start inside it.
                let run = rest.len() - rest.trim_start_matches(|d: char| d.is_ascii_digit()).len();
                prev = rest[..run].chars().next_back();
                i += run;
                continue;
            }
        }
        prev = Some(c);
        i += c.len_utf8();
    }
    out.push_str(&s[copied..]);
    out
}

/// Masks a phone number given on its own (a form field): mobiles as
/// `138****5678`, landlines as `0851-****4567`; anything else keeps at most its
/// last four digits and hides at least four.
pub fn mask_phone(phone: &str) -> String {
    let trimmed = phone.trim();
    if let Some(p) = PATTERNS.as_ref() {
        let (norm, orig_at) = normalise(trimmed);
        if let Some((len, masked)) = match_at(p, &norm, |a, b| &trimmed[orig_at[a]..orig_at[b]]) {
            if len == norm.len() {
                return masked;
            }
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

/// Tries each pattern at the start of `rest`; on a match that ends where the
/// digit run ends, returns its length in `rest` and the masked text.
/// `orig(a, b)` gives the original text of `rest[a..b]`, so the parts kept
/// unmasked (prefixes, area codes) appear as the resident wrote them.
fn match_at<'s>(
    p: &Patterns,
    rest: &str,
    orig: impl Fn(usize, usize) -> &'s str,
) -> Option<(usize, String)> {
    let ends_run = |len: usize| !rest[len..].starts_with(|c: char| c.is_ascii_digit());
    let digits_only = rest.starts_with(|c: char| c.is_ascii_digit());

    for id in [&p.id18, &p.id15] {
        if !digits_only {
            break;
        }
        if let Some(m) = id.find(rest).filter(|m| ends_run(m.end())) {
            let n = m.len();
            return Some((
                n,
                format!("{}{}{}", &rest[..3], "*".repeat(n - 5), &rest[n - 2..n]),
            ));
        }
    }
    if let Some(c) = p.mobile.captures(rest).filter(|c| ends_run(whole(c))) {
        let prefix = c.get(1).map_or("", |g| orig(g.start(), g.end()));
        let head = c.get(2).map_or("", |g| g.as_str());
        let tail = c.get(4).map_or("", |g| g.as_str());
        return Some((whole(&c), format!("{prefix}{head}****{tail}")));
    }
    if let Some(c) = p.landline.captures(rest).filter(|c| ends_run(whole(c))) {
        let area_end = c.get(2).map_or(0, |g| g.end());
        let local = c.get(3).map_or("", |g| g.as_str());
        // Hide at least four digits, as a masked mobile does.
        let keep = local.len().saturating_sub(4).min(4);
        return Some((
            whole(&c),
            format!(
                "{}{}{}",
                orig(0, area_end),
                "*".repeat(local.len() - keep),
                &local[local.len() - keep..]
            ),
        ));
    }
    None
}

fn whole(c: &Captures<'_>) -> usize {
    c.get(0).map_or(0, |m| m.end())
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
            '－' | '—' | '–' => '-',
            '（' => '(',
            '）' => ')',
            '\u{3000}' => ' ',
            _ => c,
        };
        norm.push(n);
        // Offsets inside a multi-byte char are never looked up.
        orig_at.resize(norm.len(), at);
    }
    orig_at.push(s.len());
    (norm, orig_at)
}

/// Fallback if the patterns could not be built: hide every run of seven or more
/// digits whole rather than show a phone or ID number.
fn mask_long_digit_runs(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().count() >= 7 {
            out.extend(run.chars().map(|_| '*'));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in s.chars() {
        if c.is_ascii_digit() || ('０'..='９').contains(&c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn patterns_compile() {
        assert!(PATTERNS.is_some());
    }

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

    #[test]
    fn text_without_numbers_is_unchanged() {
        assert_eq!(mask_text(""), "");
        assert_eq!(mask_text("路灯坏了，请修理。"), "路灯坏了，请修理。");
    }

    #[test]
    fn fallback_hides_long_runs() {
        assert_eq!(
            mask_long_digit_runs("电话13812345678，2025年"),
            "电话***********，2025年"
        );
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
