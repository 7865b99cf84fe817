//! `serve --config`'s file: what it accepts, and that every refusal names the role and the key.

use super::*;

const TA: &str = "arn:aws:rolesanywhere:eu-west-1:111122223333:trust-anchor/TA";
const PROFILE: &str = "arn:aws:rolesanywhere:eu-west-1:111122223333:profile/P";

/// The issue's example, with `extra` at the end of the top level.
fn example(extra: &str) -> String {
    format!(
        r#"certificate = "/etc/pki/host.pem"
private-key = "/etc/pki/host.key"
trust-anchor-arn = "{TA}"
profile-arn = "{PROFILE}"
port = 9911
{extra}

[roles.backup]
role-arn = "arn:aws:iam::111122223333:role/backup"
token-file = "/run/aws-roles/backup.token"

[roles.deploy]
role-arn = "arn:aws:iam::111122223333:role/ansible"
assume-role = ["arn:aws:iam::444455556666:role/deploy,external_id=EXT"]
token = "a-long-random-token"
"#
    )
}

fn parsed(text: &str) -> ServeConfig {
    parse(text).unwrap_or_else(|e| panic!("refused: {e}\n{text}"))
}

fn refused(text: &str) -> String {
    match parse(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => {
            assert!(!e.contains('\n'), "not one line: {e}");
            e
        }
    }
}

/// A role table appended to the example.
fn with_role(role: &str) -> String {
    format!("{}\n{role}", example(""))
}

#[test]
fn the_issues_example_is_accepted() {
    let config = parsed(&example(""));
    assert_eq!(config.listen.port, 9911);
    assert_eq!(config.listen.address.to_string(), "127.0.0.1");
    assert!(config.log_level.is_none());
    let names: Vec<&str> = config.roles.keys().map(String::as_str).collect();
    assert_eq!(names, ["backup", "deploy"]);
    let (backup, deploy) = (&config.roles["backup"], &config.roles["deploy"]);
    assert_eq!(
        backup.options.request.role.as_str(),
        "arn:aws:iam::111122223333:role/backup"
    );
    assert!(
        matches!(&backup.auth, RoleAuth::File(p) if p == Path::new("/run/aws-roles/backup.token"))
    );
    assert!(matches!(&deploy.auth, RoleAuth::Token(t) if t.as_str() == "a-long-random-token"));
    assert_eq!(deploy.options.chain.len(), 1);
    assert!(backup.options.chain.is_empty());
    // One identity for both; two sessions (the roles differ).
    assert_eq!(backup.identity_key, deploy.identity_key);
    assert_ne!(backup.session_key, deploy.session_key);
    assert!(!backup.imds && !deploy.imds);
}

#[test]
fn roles_differing_only_in_their_chain_share_a_session() {
    let config = parsed(&with_role(
        r#"[roles.audit]
role-arn = "arn:aws:iam::111122223333:role/ansible"
assume-role = ["arn:aws:iam::777788889999:role/audit"]
token = "another-long-token""#,
    ));
    assert_eq!(
        config.roles["audit"].session_key,
        config.roles["deploy"].session_key
    );
    assert_ne!(
        config.roles["audit"].fingerprint,
        config.roles["deploy"].fingerprint
    );
}

#[test]
fn a_role_with_an_identity_of_its_own_inherits_none_of_the_default() {
    let config = parsed(&with_role(
        r#"[roles.hsm]
role-arn = "arn:aws:iam::111122223333:role/hsm"
certificate = "/etc/pki/other.pem"
private-key = "/etc/pki/other.key"
token = "hsm-role-token-123""#,
    ));
    let (hsm, backup) = (&config.roles["hsm"], &config.roles["backup"]);
    assert_ne!(hsm.identity_key, backup.identity_key);
    assert_eq!(
        hsm.options.source.files(),
        [
            Path::new("/etc/pki/other.pem"),
            Path::new("/etc/pki/other.key")
        ]
    );
}

#[test]
fn fingerprints_change_with_the_role_or_its_defaults_only() {
    let base = parsed(&example(""));
    let longer = parsed(&example("session-duration = 7200"));
    for name in ["backup", "deploy"] {
        assert_ne!(base.roles[name].fingerprint, longer.roles[name].fingerprint);
    }
    let token_changed = parsed(&example("").replace("a-long-random-token", "a-new-random-token"));
    assert_eq!(
        base.roles["backup"].fingerprint,
        token_changed.roles["backup"].fingerprint
    );
    assert_ne!(
        base.roles["deploy"].fingerprint,
        token_changed.roles["deploy"].fingerprint
    );
    // The listener is not the roles' business.
    let moved = parsed(&example("").replace("port = 9911", "port = 9912"));
    assert_eq!(
        base.roles["deploy"].fingerprint,
        moved.roles["deploy"].fingerprint
    );
}

#[test]
fn refusals_name_the_role_and_the_key_as_the_command_line_words_them() {
    let e = refused(&with_role(
        r#"[roles.short]
role-arn = "arn:aws:iam::111122223333:role/x"
session-duration = 60
token = "short-role-token""#,
    ));
    assert!(
        e.starts_with("[roles.short] session-duration: session-duration 60 is out of range"),
        "{e}"
    );
    // Inherited from the top level.
    let e = refused(&example("session-duration = 60"));
    assert!(
        e.starts_with("session-duration (top level, for [roles.backup]): session-duration 60"),
        "{e}"
    );
    // clap's checks.
    let e = refused(&example("").replace("port = 9911", "port = 99999"));
    assert!(
        e.starts_with("port: invalid value '99999' for 'port'"),
        "{e}"
    );
    let e = refused(&with_role(
        r#"[roles.x]
role-arn = "arn:aws:iam::111122223333:role/x"
cert-selector = "Key=x509Subject,Value=CN=x"
certificate = "/c.pem"
token = "x-role-token-12345""#,
    ));
    assert!(e.starts_with("[roles.x] "), "{e}");
    assert!(e.contains("cannot be used with"), "{e}");
    assert!(!e.contains("--"), "{e}");
    let e = refused(&with_role(
        r#"[roles.x]
role-arn = "arn:aws:iam::111122223333:role/x"
no-verify-ssl = "yes"
token = "x-role-token-12345""#,
    ));
    assert_eq!(
        e,
        "[roles.x] no-verify-ssl: invalid value 'yes' for 'no-verify-ssl'; [possible values: true, false]"
    );
    // A missing value the engine asks for.
    let e = refused(&with_role(
        r#"[roles.x]
token = "x-role-token-12345""#,
    ));
    assert!(e.starts_with("[roles.x]: "), "{e}");
    assert!(e.contains("role-arn"), "{e}");
    let e = refused(&with_role(
        r#"[roles.x]
role-arn = "arn:aws:iam::111122223333:role/x"
assume-role = ["arn:aws:iam::111122223333:role/y,duration_seconds=5"]
token = "x-role-token-12345""#,
    ));
    assert!(e.starts_with("[roles.x] assume-role: "), "{e}");
}

#[test]
fn keys_are_checked_where_they_stand() {
    let e = refused(&example("bogus = 1"));
    assert!(e.starts_with("unknown key 'bogus'"), "{e}");
    let e = refused(&example("token = \"top-level-token-1\""));
    assert!(
        e.starts_with("token: belongs in a [roles.NAME] table"),
        "{e}"
    );
    let e = refused(&with_role(
        "[roles.x]\nport = 1\ntoken = \"x-role-token-12345\"",
    ));
    assert!(
        e.starts_with("[roles.x] port: one for the whole server"),
        "{e}"
    );
    let e = refused(&with_role(
        "[roles.x]\nbogus = 1\ntoken = \"x-role-token-12345\"",
    ));
    assert!(e.starts_with("[roles.x] unknown key 'bogus'"), "{e}");
    let e = refused(&example("help = true"));
    assert!(e.starts_with("unknown key 'help'"), "{e}");
    let e = refused(&example("").replace("port = 9911", "port = [1]"));
    assert!(e.starts_with("port: takes one value"), "{e}");
    let e = refused(&example(r#"assume-role = "arn:aws:iam::1:role/x""#));
    assert!(e.starts_with("assume-role: must be a list"), "{e}");
    let e = refused(&example("log-level = \"loud\""));
    assert!(e.starts_with("log-level: must be one of"), "{e}");
    assert!(matches!(
        parsed(&example("log-level = \"warn\"")).log_level,
        Some(LogLevel::Warn)
    ));
    assert!(matches!(
        parsed(&example("debug = true")).log_level,
        Some(LogLevel::Debug)
    ));
}

#[test]
fn every_role_needs_a_token_of_its_own() {
    let e = refused(&with_role(
        "[roles.x]\nrole-arn = \"arn:aws:iam::111122223333:role/x\"",
    ));
    assert!(e.starts_with("[roles.x]: no token-file (or token)"), "{e}");
    let e = refused(&with_role(
        "[roles.x]\nrole-arn = \"arn:aws:iam::111122223333:role/x\"\ntoken = \"a-long-random-token\"",
    ));
    assert!(e.contains("the same as [roles.deploy]'s"), "{e}");
    assert!(!e.contains("a-long-random-token"), "{e}");
    let e = refused(&with_role(
        "[roles.x]\nrole-arn = \"arn:aws:iam::111122223333:role/x\"\ntoken-file = \"/run/aws-roles/backup.token\"",
    ));
    assert!(
        e.starts_with("[roles.x] token-file: the same as [roles.backup]'s"),
        "{e}"
    );
    for bad in ["\"\"", "\" padded \"", "\"two\\nlines\"", "42"] {
        let e = refused(&with_role(&format!(
            "[roles.x]\nrole-arn = \"arn:aws:iam::111122223333:role/x\"\ntoken = {bad}"
        )));
        assert!(e.starts_with("[roles.x] token: must be"), "{e}");
    }
}

#[test]
fn one_role_at_most_answers_imds() {
    let text = example("")
        .replace("token-file = \"/run", "imds = true\ntoken-file = \"/run")
        .replace("token = \"a-long", "imds = true\ntoken = \"a-long");
    let e = refused(&text);
    assert!(
        e.contains("imds: [roles.backup] already answers IMDSv2"),
        "{e}"
    );
    let one = example("").replace("token-file = \"/run", "imds = true\ntoken-file = \"/run");
    assert!(parsed(&one).roles["backup"].imds);
}

#[test]
fn role_names_fit_in_a_url_path() {
    for bad in ["\"a b\"", "\"a/b\"", "\".hidden\"", "\"\""] {
        let e = refused(&with_role(&format!(
            "[roles.{bad}]\ntoken = \"tok-12345678\""
        )));
        assert!(e.contains("a role name is 1 to 64"), "{bad}: {e}");
    }
}

#[test]
fn syntax_errors_give_the_line_but_never_its_text() {
    let text = "port = 9911\ntoken = \"secret-value\nmore\"\n";
    let e = refused(text);
    assert!(e.starts_with("line 2: "), "{e}");
    assert!(!e.contains("secret-value"), "{e}");
    let e = refused("port = 9911\n");
    assert!(e.starts_with("no [roles.NAME] table"), "{e}");
    let e = refused(&format!(
        "{}\nroles = 3\n",
        example("").split("[roles").next().unwrap()
    ));
    assert!(e.starts_with("roles must be tables"), "{e}");
}

#[test]
fn print_env_names_the_endpoint_and_the_token_file_but_never_a_token() {
    let mut config = parsed(&example(""));
    config.path = PathBuf::from("/etc/aws-signing-helper/serve.toml");
    assert_eq!(
        print_env(&config, "backup").unwrap(),
        "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:9911/roles/backup/credentials\n\
         AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/run/aws-roles/backup.token\n"
    );
    let deploy = print_env(&config, "deploy").unwrap();
    assert!(!deploy.contains("a-long-random-token"), "{deploy}");
    assert!(deploy.contains("/roles/deploy/credentials"), "{deploy}");
    let e = print_env(&config, "nope").unwrap_err().to_string();
    assert!(
        e.contains("no [roles.nope]; its roles are backup, deploy"),
        "{e}"
    );
}
