//! Shared argument helpers: the option walker every subcommand uses, `--help` detection and
//! "did you mean" suggestions.

/// Walks a subcommand's arguments: `--name value`, `--name=value` and `-n value`.
pub struct Options<'a> {
    it: std::slice::Iter<'a, String>,
    inline: Option<&'a str>,
}

impl<'a> Options<'a> {
    pub fn new(args: &'a [String]) -> Self {
        Self {
            it: args.iter(),
            inline: None,
        }
    }

    /// The next argument as written, and its option name: `--name=value` gives `--name`, its
    /// value kept for [`Options::value`]; anything else is its own name.
    pub fn next_arg(&mut self) -> Option<(&'a str, &'a str)> {
        let a = self.it.next()?.as_str();
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v)),
            _ => (a, None),
        };
        self.inline = inline;
        Some((a, name))
    }

    /// The value of the option just read: after its `=`, or else the next argument.
    pub fn value(&mut self, what: &str) -> Result<String, String> {
        self.inline
            .take()
            .or_else(|| self.it.next().map(String::as_str))
            .map(str::to_string)
            .ok_or(format!("{what} needs a value"))
    }
}

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
    fn options_split_inline_values_and_take_the_next_argument() {
        let args: Vec<String> = [
            "--format=json",
            "-j",
            "2",
            "--plot",
            "x=y",
            "cap.pcap",
            "--lang",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut o = Options::new(&args);
        assert_eq!(o.next_arg(), Some(("--format=json", "--format")));
        assert_eq!(o.value("--format").as_deref(), Ok("json"));
        assert_eq!(o.next_arg(), Some(("-j", "-j")));
        assert_eq!(o.value("--jobs").as_deref(), Ok("2"));
        assert_eq!(o.next_arg(), Some(("--plot", "--plot")));
        assert_eq!(o.value("--plot").as_deref(), Ok("x=y"));
        assert_eq!(o.next_arg(), Some(("cap.pcap", "cap.pcap")));
        assert_eq!(o.next_arg(), Some(("--lang", "--lang")));
        assert_eq!(o.value("--lang"), Err("--lang needs a value".to_string()));
        assert_eq!(o.next_arg(), None);
    }

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
