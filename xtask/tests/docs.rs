//! Every relative link in README.md and docs/*.md leads somewhere: the file or directory exists,
//! and a `#fragment` names a heading (or an `<a id>`) of the file it points into, by GitHub's
//! rules for heading anchors (lowercase; spaces become hyphens; punctuation other than `-` and
//! `_` is dropped; a repeated heading gets `-1`, `-2`, ...).
//!
//! Links inside code (fenced blocks, backquoted spans) are not links, and links with a scheme
//! (`https:`, `mailto:`, ...) are not checked: this test runs without network.
//!
//! And every `aws_signing_helper COMMAND --flag` the documents show, in code, names a command and
//! flags the clap definitions have.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// README.md and every docs/*.md.
fn documents(root: &Path) -> Vec<PathBuf> {
    let mut docs = vec![root.join("README.md")];
    let mut guides: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    guides.sort();
    docs.extend(guides);
    docs
}

/// The text outside fenced code blocks, line by line (fenced lines become empty, so that line
/// numbers stay right).
fn prose(text: &str) -> Vec<String> {
    let mut fence: Option<String> = None;
    text.lines()
        .map(|line| {
            let trimmed = line.trim_start();
            match &fence {
                Some(open) => {
                    if trimmed.starts_with(open.as_str())
                        && trimmed
                            .trim_start_matches(open.chars().next().unwrap())
                            .trim()
                            .is_empty()
                    {
                        fence = None;
                    }
                    String::new()
                }
                None => {
                    for marker in ["```", "~~~"] {
                        if trimmed.starts_with(marker) {
                            let c = marker.chars().next().unwrap();
                            let len = trimmed.chars().take_while(|&x| x == c).count();
                            fence = Some(c.to_string().repeat(len));
                            return String::new();
                        }
                    }
                    line.to_string()
                }
            }
        })
        .collect()
}

/// `line` without its backquoted spans.
fn without_code(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        let ticks = rest[start..].chars().take_while(|&c| c == '`').count();
        let delimiter = "`".repeat(ticks);
        match rest[start + ticks..].find(&delimiter) {
            Some(end) => {
                out.push_str(&rest[..start]);
                out.push_str("CODE");
                rest = &rest[start + ticks + end + ticks..];
            }
            None => break,
        }
    }
    out.push_str(rest);
    out
}

/// The anchor GitHub gives a heading whose text is `heading`.
fn slug(heading: &str) -> String {
    // The text as rendered: link and image targets, code ticks, emphasis and HTML tags dropped.
    let mut text = String::new();
    let mut chars = heading.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '`' => {}
            '<' => {
                for c in chars.by_ref() {
                    if c == '>' {
                        break;
                    }
                }
            }
            ']' if chars.peek() == Some(&'(') => {
                for c in chars.by_ref() {
                    if c == ')' {
                        break;
                    }
                }
            }
            '[' | '!' if c == '[' || chars.peek() == Some(&'[') => {}
            c => text.push(c),
        }
    }
    text.trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a document: its headings' slugs (with GitHub's numbering of repeats) and the
/// `id`s and `name`s of its `<a>` elements.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut anchors = BTreeSet::new();
    for line in prose(text) {
        let trimmed = line.trim_start();
        let hashes = trimmed.chars().take_while(|&c| c == '#').count();
        if (1..=6).contains(&hashes) && trimmed[hashes..].starts_with(' ') {
            let title = trimmed[hashes..].trim().trim_end_matches('#').trim();
            let base = slug(title);
            let count = seen.entry(base.clone()).or_insert(0);
            let anchor = if *count == 0 {
                base.clone()
            } else {
                format!("{base}-{count}")
            };
            *count += 1;
            anchors.insert(anchor);
        }
        for attribute in ["id=\"", "name=\""] {
            for (at, _) in line.match_indices(attribute) {
                let value = &line[at + attribute.len()..];
                if let Some(end) = value.find('"') {
                    if line[..at].contains("<a ") {
                        anchors.insert(value[..end].to_string());
                    }
                }
            }
        }
    }
    anchors
}

/// The link destinations of a document, with their line numbers: inline links and images
/// `[text](dest "title")`, and reference definitions `[label]: dest`.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in prose(text).iter().enumerate() {
        let line = without_code(line);
        let trimmed = line.trim_start();
        if let Some((label, dest)) = trimmed.strip_prefix('[').and_then(|r| r.split_once("]: ")) {
            if !label.contains(['[', ']']) {
                let dest = dest.split_whitespace().next().unwrap_or("");
                found.push((number + 1, dest.to_string()));
                continue;
            }
        }
        for (at, _) in line.match_indices("](") {
            let rest = &line[at + 2..];
            let dest = if let Some(inner) = rest.strip_prefix('<') {
                inner.split('>').next().unwrap_or("")
            } else {
                // Up to the closing parenthesis that balances, or a title.
                let mut depth = 0;
                let end = rest
                    .char_indices()
                    .find(|&(_, c)| match c {
                        '(' => {
                            depth += 1;
                            false
                        }
                        ')' if depth == 0 => true,
                        ')' => {
                            depth -= 1;
                            false
                        }
                        c => c.is_whitespace(),
                    })
                    .map_or(rest.len(), |(i, _)| i);
                &rest[..end]
            };
            found.push((number + 1, dest.to_string()));
        }
    }
    found
}

/// `path` with `.` and `..` resolved, without touching the file system.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Every broken link of the documents under `root`, as `file:line: dest: why`.
fn broken_links(root: &Path) -> Vec<String> {
    let docs = documents(root);
    let mut anchor_cache: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    let mut broken = Vec::new();
    for doc in &docs {
        let text = std::fs::read_to_string(doc).unwrap();
        let name = doc.strip_prefix(root).unwrap().display().to_string();
        for (line, dest) in links(&text) {
            let has_scheme = dest.split_once(':').is_some_and(|(s, _)| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            });
            if dest.is_empty() || has_scheme {
                continue;
            }
            let (path, fragment) = match dest.split_once('#') {
                Some((p, f)) => (p, Some(f)),
                None => (dest.as_str(), None),
            };
            let target = if path.is_empty() {
                doc.clone()
            } else {
                normalise(&doc.parent().unwrap().join(path))
            };
            let mut why = None;
            if !target.starts_with(root) {
                why = Some("points outside the repository".to_string());
            } else if !target.exists() {
                why = Some("no such file".to_string());
            } else if let Some(fragment) = fragment {
                if target.extension().is_some_and(|e| e == "md") {
                    let anchors = anchor_cache
                        .entry(target.clone())
                        .or_insert_with(|| anchors(&std::fs::read_to_string(&target).unwrap()));
                    if !anchors.contains(fragment) {
                        why = Some(format!("no heading with the anchor #{fragment}"));
                    }
                } else {
                    why = Some("a fragment into a file that is not Markdown".to_string());
                }
            }
            if let Some(why) = why {
                broken.push(format!("{name}:{line}: {dest}: {why}"));
            }
        }
    }
    broken
}

#[test]
fn every_relative_link_and_anchor_resolves() {
    let root = workspace();
    let broken = broken_links(&root);
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_readme_links_to_every_guide() {
    let root = workspace();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let linked: BTreeSet<String> = links(&readme)
        .into_iter()
        .map(|(_, dest)| dest.split('#').next().unwrap().to_string())
        .collect();
    for doc in documents(&root).into_iter().skip(1) {
        let path = doc.strip_prefix(&root).unwrap().display().to_string();
        assert!(linked.contains(&path), "README.md does not link to {path}");
    }
}

#[test]
fn slugs_follow_github() {
    assert_eq!(slug("Quick start"), "quick-start");
    assert_eq!(slug("PKCS#11"), "pkcs11");
    assert_eq!(slug("TPM 2.0"), "tpm-20");
    assert_eq!(
        slug("The cache (`credential-process --cache`)"),
        "the-cache-credential-process---cache"
    );
    assert_eq!(
        slug("The trust model's rules, and where each is enforced"),
        "the-trust-models-rules-and-where-each-is-enforced"
    );
    assert_eq!(
        slug("Role chaining (`--assume-role`)"),
        "role-chaining---assume-role"
    );
    assert_eq!(slug("1. The demo"), "1-the-demo");
    assert_eq!(slug("See [the guide](docs/x.md) now"), "see-the-guide-now");
    assert_eq!(slug("ML-DSA (post-quantum)"), "ml-dsa-post-quantum");
    assert_eq!(
        slug("cache_entry and `serve_request`"),
        "cache_entry-and-serve_request"
    );
}

#[test]
fn repeated_headings_are_numbered_and_code_is_not_a_heading() {
    let anchors =
        anchors("# A\n## Notes\n```sh\n# not a heading\n```\n### Notes\n<a id=\"x\"></a>\n");
    let want: BTreeSet<String> = ["a", "notes", "notes-1", "x"].map(String::from).into();
    assert_eq!(anchors, want);
}

#[test]
fn links_are_found_outside_code_only() {
    let text = "See [a](a.md#b), ![i](img.png \"t\") and `[no](x.md)`.\n\
                ```\n[no](y.md)\n```\n[ref]: docs/r.md\n[c](<with space.md>) [d](x(1).md)\n";
    let found: Vec<String> = links(text).into_iter().map(|(_, d)| d).collect();
    assert_eq!(
        found,
        ["a.md#b", "img.png", "docs/r.md", "with space.md", "x(1).md"]
    );
}

#[test]
fn a_broken_link_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("docs")).unwrap();
    std::fs::write(
        dir.path().join("README.md"),
        "# Top\n[ok](docs/g.md#part-one) [bad](docs/g.md#part-two) [gone](docs/none.md) [self](#top)\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("docs/g.md"),
        "# G\n## Part one\n[up](../README.md#nowhere)\n",
    )
    .unwrap();
    let broken = broken_links(dir.path());
    assert_eq!(broken.len(), 3, "{broken:#?}");
    assert!(broken[0].starts_with("README.md:2: docs/g.md#part-two: no heading"));
    assert!(broken[1].starts_with("README.md:2: docs/none.md: no such file"));
    assert!(broken[2].starts_with("docs/g.md:3: ../README.md#nowhere"));
}

/// Every `aws_signing_helper COMMAND --flag ...` the documents show, in code blocks and code
/// spans: (document, line, command, flag).
fn commands_shown(root: &Path) -> Vec<(String, usize, String, String)> {
    let mut shown = Vec::new();
    for doc in documents(root) {
        let name = doc.strip_prefix(root).unwrap().display().to_string();
        let text = std::fs::read_to_string(&doc).unwrap();
        // Code only: fenced blocks whole, and the backquoted spans of prose lines.
        let prose = prose(&text);
        let code: Vec<String> = text
            .lines()
            .zip(&prose)
            .map(|(line, prose)| {
                if prose.is_empty() {
                    // Without its shell or INI comment.
                    let comment = line
                        .match_indices('#')
                        .find(|&(i, _)| i == 0 || line[..i].ends_with(' '))
                        .map_or(line.len(), |(i, _)| i);
                    return line[..comment].to_string();
                }
                prose
                    .split('`')
                    .skip(1)
                    .step_by(2)
                    .collect::<Vec<_>>()
                    .join(" ; ")
            })
            .collect();
        // Continuation lines joined, each kept at the line number it starts on.
        let mut lines: Vec<(usize, String)> = Vec::new();
        let mut open = false;
        for (number, line) in code.iter().enumerate() {
            match (open, lines.last_mut()) {
                (true, Some((_, last))) => {
                    last.push(' ');
                    last.push_str(line.trim_end_matches('\\'));
                }
                _ => lines.push((number + 1, line.trim_end_matches('\\').to_string())),
            }
            open = line.ends_with('\\');
        }
        for (number, line) in lines {
            for (at, _) in line.match_indices("aws_signing_helper ") {
                let rest = &line[at + "aws_signing_helper ".len()..];
                let end = rest
                    .find(['|', ';', '&', ')', '#', '`', '>', '"', '\''])
                    .unwrap_or(rest.len());
                let mut words = rest[..end].split_whitespace();
                let Some(command) = words.next() else {
                    continue;
                };
                if !command.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
                    continue; // a path, a version, a variable: not a command line
                }
                for word in words.filter(|w| w.starts_with("--")) {
                    let flag = word.split('=').next().unwrap().to_string();
                    shown.push((name.clone(), number, command.to_string(), flag));
                }
                if !rest[..end].contains("--") {
                    shown.push((name.clone(), number, command.to_string(), String::new()));
                }
            }
        }
    }
    shown
}

/// The commands and flags the documents show exist, spelled as `--help` spells them.
#[test]
fn every_command_and_flag_the_docs_show_exists() {
    use aws_signing_helper::cli::Cli;
    use clap::CommandFactory;
    let cli = Cli::command();
    let root = workspace();
    let shown = commands_shown(&root);
    assert!(shown.len() > 100, "found only {} uses", shown.len());
    let mut wrong = Vec::new();
    for (doc, line, command, flag) in shown {
        let Some(sub) = cli.find_subcommand(&command) else {
            wrong.push(format!("{doc}:{line}: no command {command}"));
            continue;
        };
        let known = flag.is_empty()
            || flag == "--help"
            || sub
                .get_arguments()
                .any(|a| a.get_long().is_some_and(|l| format!("--{l}") == flag));
        if !known {
            wrong.push(format!("{doc}:{line}: {command} has no {flag}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
