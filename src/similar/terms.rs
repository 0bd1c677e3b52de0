//! From text to terms: jieba's segmentation of the normalised text, the pieces of a lexicon
//! word joined again, stop words and boilerplate dropped, each word replaced by its canonical
//! synonym.
use std::sync::LazyLock;

use jieba_rs::Jieba;

use super::lexicon::{normalize, Lexicon};

/// Function words, appeal boilerplate and the hotline operator's formulas (来电人反映…要求…):
/// they say how an appeal is told, not what it is about.
const STOP_WORDS: &str = "的 了 是 在 都 也 很 和 就 还 又 着 吗 呢 吧 啊 呀 哦 嘛 我 你 他 她 它 \
    我们 你们 他们 大家 自己 我家 家里 咱们 这 那 这个 那个 这些 那些 这里 那里 这样 什么 怎么 \
    怎么办 为什么 哪里 有 没 不 个 把 被 给 让 到 从 对 向 跟 与 及 或 并 其 之 将 已 于 为 而 但 \
    由 以 等 说 要 能 会 可以 可 去 来 上 下 里 中 后 前 一 一下 一直 已经 现在 目前 最近 今天 \
    还是 就是 但是 因为 所以 如果 而且 然后 还有 只 只能 只有 又 再 才 更 最 太 非常 特别 十分 \
    好 请 请求 恳请 希望 麻烦 帮忙 帮 帮助 谢谢 感谢 您好 你好 领导 政府 有关 有关部门 \
    相关 相关部门 部门 单位 重视 高度重视 问题 情况 事情 事 反映 来电 来电人 来电反映 市民 \
    群众反映 据称 称 表示 要求 诉求 咨询 询问 问问 想问 想 问 一下子 尽快 及时 予以 进行 \
    处理 解决 落实 核实 查明 协调 督促 管 管一管 看看 查查 查一下 问一下 原因 \
    村民 群众 老百姓 百姓 住户 居民 人家 户 家 人 未 无 因 致 能否 不能 能不能 通过";

static STOP: LazyLock<std::collections::HashSet<&'static str>> =
    LazyLock::new(|| STOP_WORDS.split_whitespace().collect());

/// Jieba's dictionary with the seed lexicon's words added, so that they come out whole
/// (低保, 一卡通, 通组路). Built once: loading the dictionary takes a moment.
static JIEBA: LazyLock<Jieba> = LazyLock::new(|| {
    let mut j = Jieba::new();
    for p in super::lexicon::seed_pairs() {
        for w in [&p.term, &p.canonical] {
            if !j.has_word(w) {
                j.add_word(w, None, None);
            }
        }
    }
    j
});

/// The terms of `text`, in order, repeats kept (the weights count them).
pub fn terms(text: &str, lex: &Lexicon) -> Vec<String> {
    let text = numerals(&normalize(text));
    let pieces: Vec<&str> = JIEBA
        .cut(&text, false)
        .into_iter()
        .map(|t| t.word)
        .collect();
    let pieces = join_lexicon_words(&pieces, lex);
    let mut out = Vec::new();
    let mut i = 0;
    while i < pieces.len() {
        let p = pieces[i].as_str();
        i += 1;
        if !p.chars().any(|c| c.is_alphanumeric()) || STOP.contains(p) {
            continue;
        }
        // A group number belongs to its group: 3组, 5号.
        if p.chars().all(|c| c.is_ascii_digit()) {
            if let Some(next) = pieces
                .get(i)
                .filter(|n| ["组", "号", "队"].contains(&n.as_str()))
            {
                out.push(format!("{p}{next}"));
                i += 1;
                continue;
            }
        }
        out.push(lex.canonical(p).to_owned());
        // The words inside a long one, as a search engine indexes them: 低保停了 is also 低保,
        // 供水管道 also 管道, so a shorter telling still meets it.
        let chars: Vec<char> = p.chars().collect();
        if chars.len() >= 3 {
            for n in 2..chars.len() {
                for w in chars.windows(n) {
                    let w: String = w.iter().collect();
                    if (JIEBA.has_word(&w) || lex.contains(&w)) && !STOP.contains(w.as_str()) {
                        out.push(lex.canonical(&w).to_owned());
                    }
                }
            }
        }
        // Characters back the words off: 停发 and 停了, 故障 and 坏, share what they share.
        for c in p.chars().filter(|c| is_han(*c)) {
            let c = c.to_string();
            if !STOP.contains(c.as_str()) {
                out.push(format!("{CHAR_MARK}{c}"));
            }
        }
    }
    out
}

/// Marks a character term; [`super::score`] weighs those at [`super::score::CHAR_WEIGHT`].
pub const CHAR_MARK: char = '\u{1}';

fn is_han(c: char) -> bool {
    matches!(c,
        '\u{4E00}'..='\u{9FFF}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2EBEF}')
}

/// Adjacent pieces whose concatenation is a lexicon word become that word: an admin's new
/// term is found even where jieba's dictionary splits it.
fn join_lexicon_words(pieces: &[&str], lex: &Lexicon) -> Vec<String> {
    let mut out = Vec::with_capacity(pieces.len());
    let mut i = 0;
    while i < pieces.len() {
        let mut best = 1;
        let mut joined = pieces[i].to_owned();
        let mut len = joined.chars().count();
        for (k, p) in pieces.iter().enumerate().skip(i + 1).take(3) {
            joined.push_str(p);
            len += p.chars().count();
            if len > lex.longest() {
                break;
            }
            if lex.contains(&joined) {
                best = k - i + 1;
            }
        }
        out.push(pieces[i..i + best].concat());
        i += best;
    }
    out
}

/// Chinese numerals before a group word as digits (三组 → 3组), and 两/二 alike.
fn numerals(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        let digit = "一二三四五六七八九".chars().position(|n| n == c);
        match (digit, chars.get(i + 1)) {
            (Some(d), Some('组' | '号' | '队')) => out.push_str(&(d + 1).to_string()),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn synonyms_boilerplate_and_group_numbers() {
        let lex = Lexicon::seed();
        let a = terms("来电人反映石板村三组断水，要求尽快处理。", &lex);
        let b = terms("石板村3组停水了，希望政府帮忙解决！", &lex);
        assert!(a.contains(&"停水".to_owned()), "{a:?}");
        assert!(b.contains(&"停水".to_owned()), "{b:?}");
        assert!(a.contains(&"3组".to_owned()) && b.contains(&"3组".to_owned()));
        for w in ["来电人", "反映", "要求", "尽快", "处理", "希望", "政府"] {
            assert!(
                !a.contains(&w.to_owned()) && !b.contains(&w.to_owned()),
                "{w}"
            );
        }
        assert!(terms("希望政府领导高度重视，谢谢！", &lex).is_empty());
        assert_eq!(terms("ＷＩＦＩ", &lex), terms("wifi", &lex));
    }

    #[test]
    fn a_new_lexicon_word_is_joined_from_its_pieces() {
        let pair = super::super::SynonymPair::parse("老旧管网", "水管").unwrap();
        let lex = Lexicon::from_pairs(&[pair]);
        let t = terms("老旧管网漏水", &lex);
        assert!(t.contains(&"水管".to_owned()), "{t:?}");
    }
}
