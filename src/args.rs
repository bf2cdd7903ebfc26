//! Shared argument helpers: `--help` detection and "did you mean" suggestions.

/// Edit distance (Levenshtein) between two short strings.
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.get(j).copied().unwrap_or(0) + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

/// The closest candidate to `word`, when it is close enough to be a typo.
pub fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let max = (word.chars().count() / 3).max(2);
    candidates
        .iter()
        .map(|c| (distance(word, c), *c))
        .filter(|(d, _)| *d <= max)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// "CMD: unknown option 'X' (did you mean '--Y'?); see voipwatch CMD --help".
pub fn unknown_option(cmd: &str, opt: &str, known: &[&str]) -> String {
    let name = opt.split_once('=').map_or(opt, |(n, _)| n);
    match suggest(name, known) {
        Some(s) => format!(
            "{cmd}: unknown option '{opt}' (did you mean '{s}'?); see voipwatch {cmd} --help"
        ),
        None => format!("{cmd}: unknown option '{opt}'; see voipwatch {cmd} --help"),
    }
}

/// True when `-h`/`--help` comes before any `--`.
pub fn wants_help(args: &[String]) -> bool {
    args.iter()
        .take_while(|a| *a != "--")
        .any(|a| a == "-h" || a == "--help")
}

/// "1 flow", "2 flows".
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_catch_typos_only() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(
            suggest("--fromat", &["--format", "--flows"]),
            Some("--format")
        );
        assert_eq!(suggest("analyse", &["analyze", "compare"]), Some("analyze"));
        assert_eq!(suggest("--zzzzzz", &["--format", "--flows"]), None);
        assert_eq!(plural(1, "flow", "flows"), "1 flow");
        assert_eq!(plural(2, "flow", "flows"), "2 flows");
    }
}
