//! Durations as the command line takes them: `7d`, `12h`, `30m`, `45s`, `2w`, combinations
//! (`1d12h`) or plain seconds (`--min-remaining`, `--start-timeout`).

use std::time::Duration;

/// `text` as a duration, if it is one.
pub fn parse(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'w' => 604_800,
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        let n: u64 = number.parse().ok()?;
        total = n.checked_mul(unit).and_then(|v| total.checked_add(v))?;
        number.clear();
    }
    if !number.is_empty() || text.is_empty() {
        return None;
    }
    Some(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_combinations_and_plain_seconds() {
        let secs = |t: &str| parse(t).map(|d| d.as_secs());
        assert_eq!(secs("5m"), Some(300));
        assert_eq!(secs("1h30m"), Some(5400));
        assert_eq!(secs("300"), Some(300));
        assert_eq!(secs("0"), Some(0));
        assert_eq!(secs(" 90s "), Some(90));
        for bad in [
            "",
            "m",
            "5x",
            "1.5m",
            "5m3",
            "-1",
            "5 m",
            "99999999999999999999w",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
