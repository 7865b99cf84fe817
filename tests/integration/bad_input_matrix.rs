//! The bad-input matrix: well over 150 bad invocations of the real binary across every command
//! (files of every wrong kind, passwords, ARNs, regions, durations, URLs, PKCS#11 URIs, ports,
//! environment variables, credentials files, crafted keys), as data: named cases in tables, run
//! by one small runner that reports every failing case by name. Each must exit 1, print nothing
//! on stdout and exactly one line on stderr that names the problem and says what to do, never
//! panic, end within seconds, and write nothing: the run's home directory (holding the
//! credentials file) is compared before and after.
//!
//! A case's arguments, environment and expected line may hold placeholders, filled in when it
//! runs ([`Fixture::expand`]): `{ca}` (the endpoint's TLS CA), `{cert}` and `{key}` (the good
//! EC P-256 identity), `{trust-anchor}` and `{profile}`, `{busy-port}` (a port this test holds),
//! `{file:NAME}` (a bad file [`Fixture::new`] made), `{bad}` (the bad file of a
//! [`FILE_READERS`] case), `{pki:KIND/FILE}` and `{testdata:PATH}`.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use test_support::hostile::run_measured;
use test_support::standard::{PROFILE, ROLE, TRUST_ANCHOR};
use test_support::{openssl, pki, testdata};

use crate::util::local::{helper_command, Local};

/// One bad invocation: what to run, in which environment, and how it must fail.
#[derive(Clone, Copy)]
struct Case {
    /// Its name in failure reports (a reader's cases add `/<bad file>`).
    name: &'static str,
    /// The command, with or without the good defaults.
    run: Run,
    /// Arguments after the command (all of them for [`Run::Bare`]). `--no-private-key` leaves
    /// the default key out, `--no-endpoint` the default endpoint.
    args: &'static [&'static str],
    /// Environment variables to set; an empty value unsets one.
    env: &'static [(&'static str, &'static str)],
    /// What the one line on stderr must contain.
    stderr: &'static str,
    /// The exit status.
    exit: i32,
    /// The bad file `{bad}` stands for (cases of [`FILE_READERS`]).
    bad: &'static str,
}

/// How a case's command line is made.
#[derive(Clone, Copy)]
enum Run {
    /// Exactly the case's arguments.
    Bare,
    /// This command with the good identity (a full chain, so that CreateSession succeeds where a
    /// case needs it to), the ARNs and the endpoint (and `--port 0` for serve, `--once` for
    /// update); a flag in the case's arguments replaces the default one.
    With(&'static str),
}

const BARE: Run = Run::Bare;
const CP: Run = Run::With("credential-process");
const SERVE: Run = Run::With("serve");
const UPDATE: Run = Run::With("update");

/// No environment beyond the runner's.
const NO_ENV: &[(&str, &str)] = &[];
/// The endpoint's TLS CA trusted.
const CA: &[(&str, &str)] = &[("AWS_CA_BUNDLE", "{ca}")];

/// A 65-character role session name (the limit is 64).
const X65: &str = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

/// A case (a row of the tables below).
const fn case(
    name: &'static str,
    run: Run,
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    stderr: &'static str,
    exit: i32,
) -> Case {
    Case {
        name,
        run,
        args,
        env,
        stderr,
        exit,
        bad: "",
    }
}

/// Every wrong kind of file, and what the one line says about it in each place a file is read.
struct BadFile {
    /// `{file:NAME}` of the fixture.
    name: &'static str,
    /// As a certificate, key, intermediates or bundle.
    as_input: &'static str,
    /// As `AWS_CA_BUNDLE`.
    as_ca_bundle: &'static str,
    /// As serve's container token file (`None`: not tried).
    as_token_file: Option<&'static str>,
}

#[rustfmt::skip]
const BAD_FILES: &[BadFile] = &[
    BadFile { name: "empty", as_input: "is empty", as_ca_bundle: "is empty", as_token_file: Some("empty") },
    BadFile { name: "whitespace", as_input: "is empty", as_ca_bundle: "is empty", as_token_file: Some("more than one line") },
    BadFile { name: "huge", as_input: "is larger than 16 MiB", as_ca_bundle: "is larger than 16 MiB", as_token_file: Some("larger than 16 KiB") },
    // Random bytes: the line names the file; a CA bundle holds no certificate.
    BadFile { name: "binary", as_input: "{bad}", as_ca_bundle: "contains no certificate", as_token_file: None },
    BadFile { name: "fifo", as_input: "is a FIFO (named pipe), not a regular file", as_ca_bundle: "is a FIFO (named pipe), not a regular file", as_token_file: Some("is a FIFO (named pipe), not a regular file") },
    BadFile { name: "directory", as_input: "is a directory, not a regular file", as_ca_bundle: "is a directory, not a regular file", as_token_file: Some("is a directory, not a regular file") },
    BadFile { name: "null", as_input: "/dev/null is a character device, not a regular file", as_ca_bundle: "/dev/null is a character device, not a regular file", as_token_file: Some("is a character device, not a regular file") },
    BadFile { name: "zero", as_input: "/dev/zero is a character device, not a regular file", as_ca_bundle: "/dev/zero is a character device, not a regular file", as_token_file: Some("is a character device, not a regular file") },
    BadFile { name: "loop", as_input: "symbolic links", as_ca_bundle: "symbolic links", as_token_file: Some("symbolic links") },
    BadFile { name: "missing", as_input: "No such file or directory", as_ca_bundle: "No such file or directory", as_token_file: Some("No such file or directory") },
];

/// Which of a [`BadFile`]'s lines a reader expects.
#[derive(Clone, Copy)]
enum Reads {
    Input,
    CaBundle,
    TokenFile,
}

/// Every place a file is read: each runs once per [`BAD_FILES`] entry, `{bad}` being that file
/// and the expected line (left empty here) the file's line for this kind of reader.
#[rustfmt::skip]
const FILE_READERS: &[(Reads, Case)] = &[
    (Reads::Input, case("certificate", CP, &["--certificate", "{bad}"], CA, "", 1)),
    (Reads::Input, case("private-key", CP, &["--private-key", "{bad}"], CA, "", 1)),
    (Reads::Input, case("intermediates", CP, &["--intermediates", "{bad}"], CA, "", 1)),
    (Reads::Input, case("sign-string-key", BARE, &["sign-string", "--private-key", "{bad}"], NO_ENV, "", 1)),
    (Reads::Input, case("read-certificate-data", BARE, &["read-certificate-data", "--certificate", "{bad}"], NO_ENV, "", 1)),
    (Reads::Input, case("serve-private-key", SERVE, &["--private-key", "{bad}"], CA, "", 1)),
    (Reads::Input, case("update-certificate", UPDATE, &["--certificate", "{bad}"], CA, "", 1)),
    (Reads::CaBundle, case("ca-bundle", CP, &[], &[("AWS_CA_BUNDLE", "{bad}")], "", 1)),
    (Reads::TokenFile, case("serve-token-file", SERVE, &[], &[("AWS_CA_BUNDLE", "{ca}"), ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "{bad}")], "", 1)),
];

/// Every other case: name, how to run, arguments, environment, what the line says, exit status.
#[rustfmt::skip]
const CASES: &[Case] = &[
    // The credentials file update writes: refused as it is, after a good CreateSession.
    case("credentials-file/fifo", UPDATE, &[], &[("AWS_CA_BUNDLE", "{ca}"), ("AWS_SHARED_CREDENTIALS_FILE", "{file:fifo}")], "is a FIFO (named pipe), not a regular file", 1),
    case("credentials-file/directory", UPDATE, &[], &[("AWS_CA_BUNDLE", "{ca}"), ("AWS_SHARED_CREDENTIALS_FILE", "{file:directory}")], "is a directory, not a regular file", 1),
    case("credentials-file/symlink-to-null", UPDATE, &[], &[("AWS_CA_BUNDLE", "{ca}"), ("AWS_SHARED_CREDENTIALS_FILE", "{file:creds/to-null}")], "(a symlink to /dev/null) is a character device", 1),
    case("credentials-file/loop", UPDATE, &[], &[("AWS_CA_BUNDLE", "{ca}"), ("AWS_SHARED_CREDENTIALS_FILE", "{file:loop}")], "symbolic links", 1),
    case("credentials-file/no-directory", UPDATE, &[], &[("AWS_CA_BUNDLE", "{ca}"), ("AWS_SHARED_CREDENTIALS_FILE", "{file:creds/far}")], "whose directory does not exist", 1),
    case("credentials-file/latin1", UPDATE, &[], &[("AWS_CA_BUNDLE", "{ca}"), ("AWS_SHARED_CREDENTIALS_FILE", "{file:creds/latin1}")], "is not UTF-8 text", 1),
    case("credentials-file/huge", UPDATE, &[], &[("AWS_CA_BUNDLE", "{ca}"), ("AWS_SHARED_CREDENTIALS_FILE", "{file:creds/huge}")], "too large for a credentials file", 1),
    case("credentials-file/world-writable-directory", UPDATE, &[], &[("AWS_CA_BUNDLE", "{ca}"), ("AWS_SHARED_CREDENTIALS_FILE", "{file:creds/open/credentials}")], "is writable by every user", 1),

    // Passwords.
    case("password/pbes2-pem-wrong", BARE, &["sign-string", "--private-key", "{pki:ec-p256/key-pkcs8-aes-256-cbc-sha256.pem}", "--pkcs8-password", "wrong"], NO_ENV, "wrong password", 1),
    case("password/pbes2-der-wrong", BARE, &["sign-string", "--private-key", "{pki:ec-p256/key-pkcs8-aes-256-cbc-sha256.der}", "--pkcs8-password", "wrong"], NO_ENV, "wrong password", 1),
    case("password/scrypt-wrong", BARE, &["sign-string", "--private-key", "{pki:ec-p256/key-pkcs8-scrypt.pem}", "--pkcs8-password", "wrong"], NO_ENV, "wrong password", 1),
    case("password/none-given", BARE, &["sign-string", "--private-key", "{pki:ec-p256/key-pkcs8-aes-128-cbc-sha256.pem}"], NO_ENV, "--pkcs8-password", 1),
    case("password/wrong-case", BARE, &["sign-string", "--private-key", "{pki:ec-p256/key-pkcs8-aes-256-cbc-sha1.pem}", "--pkcs8-password", "Password"], NO_ENV, "wrong password", 1),
    case("password/p12-wrong", CP, &["--certificate", "{pki:rsa-2048/bundle.p12}", "--pkcs8-password", "nope"], CA, "wrong password", 1),
    case("password/p12-legacy-wrong", CP, &["--certificate", "{pki:rsa-2048/bundle-legacy.p12}", "--pkcs8-password", "nope"], CA, "wrong password", 1),
    case("password/p12-none-given", CP, &["--certificate", "{pki:rsa-2048/bundle.p12}"], CA, "--pkcs8-password", 1),
    case("p12-with-intermediates", CP, &["--certificate", "{pki:rsa-2048/bundle.p12}", "--pkcs8-password", "password", "--intermediates", "{testdata:pki/ca/int.pem}"], CA, "--intermediates cannot be used with a PKCS#12 bundle", 1),

    // ARNs.
    case("arn/trust-anchor-empty", CP, &["--trust-anchor-arn", ""], CA, "--trust-anchor-arn", 1),
    case("arn/trust-anchor-not-an-arn", CP, &["--trust-anchor-arn", "not-an-arn"], CA, "is malformed", 1),
    case("arn/trust-anchor-a-role", CP, &["--trust-anchor-arn", "arn:aws:iam::123456789012:role/x"], CA, "--trust-anchor-arn", 1),
    case("arn/trust-anchor-bad-account", CP, &["--trust-anchor-arn", "arn:aws:rolesanywhere:us-east-1:abc:trust-anchor/x"], CA, "12 digits", 1),
    case("arn/trust-anchor-a-profile", CP, &["--trust-anchor-arn", "arn:aws:rolesanywhere:us-east-1:123456789012:profile/x"], CA, "trust-anchor/", 1),
    case("arn/trust-anchor-other-region", CP, &["--trust-anchor-arn", "arn:aws:rolesanywhere:eu-west-1:123456789012:trust-anchor/x"], CA, "regions don't match", 1),
    case("arn/trust-anchor-unknown-partition", CP, &["--trust-anchor-arn", "arn:nope:rolesanywhere:us-east-1:123456789012:trust-anchor/x"], CA, "unknown partition", 1),
    case("arn/profile-empty", CP, &["--profile-arn", ""], CA, "--profile-arn", 1),
    case("arn/profile-a-trust-anchor", CP, &["--profile-arn", "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/x"], CA, "profile/", 1),
    case("arn/profile-bad-region", CP, &["--profile-arn", "arn:aws:rolesanywhere:us_east_1:123456789012:profile/x"], CA, "is not a region", 1),
    case("arn/role-empty", CP, &["--role-arn", ""], CA, "--role-arn", 1),
    case("arn/role-a-user", CP, &["--role-arn", "arn:aws:iam::123456789012:user/x"], CA, "--role-arn", 1),
    case("arn/role-not-an-arn", CP, &["--role-arn", "role/x"], CA, "is malformed", 1),
    case("arn/role-11-digit-account", CP, &["--role-arn", "arn:aws:iam::12345678901:role/x"], CA, "12 digits", 1),
    case("arn/role-missing", BARE, &["credential-process", "--trust-anchor-arn", "{trust-anchor}", "--profile-arn", "{profile}", "--certificate", "{cert}", "--private-key", "{key}"], NO_ENV, "--role-arn is required", 1),
    case("arn/update-role", UPDATE, &["--role-arn", "x"], CA, "--role-arn", 1),
    case("arn/serve-profile", SERVE, &["--profile-arn", "x"], CA, "--profile-arn", 1),

    // Regions.
    case("region/empty", CP, &["--region", ""], CA, "--region", 1),
    case("region/underscores", CP, &["--region", "us_east_1"], CA, "--region", 1),
    case("region/upper-case", CP, &["--region", "US-EAST-1"], CA, "--region", 1),
    case("region/trailing-dash", CP, &["--region", "us-east-1-"], CA, "--region", 1),
    case("region/shell", CP, &["--region", "us-east-1; rm -rf /"], CA, "--region", 1),
    case("region/newline", CP, &["--region", "us-east-1\n"], CA, "--region", 1),

    // Durations.
    case("duration/0", CP, &["--session-duration", "0"], CA, "out of range", 1),
    case("duration/899", CP, &["--session-duration", "899"], CA, "out of range", 1),
    case("duration/43201", CP, &["--session-duration", "43201"], CA, "out of range", 1),
    case("duration/negative", CP, &["--session-duration", "-1"], CA, "out of range", 1),
    case("duration/word", CP, &["--session-duration", "abc"], CA, "invalid value 'abc' for '--session-duration", 1),
    case("duration/exponent", CP, &["--session-duration", "1e3"], CA, "invalid value '1e3'", 1),
    case("duration/overflow", CP, &["--session-duration", "99999999999999999999"], CA, "invalid value", 1),
    case("duration/empty", CP, &["--session-duration", ""], CA, "invalid value", 1),

    // Role session names.
    case("role-session-name/1-char", CP, &["--role-session-name", "a"], CA, "--role-session-name", 1),
    case("role-session-name/space", CP, &["--role-session-name", "has space"], CA, "--role-session-name", 1),
    case("role-session-name/newline", CP, &["--role-session-name", "x\ny"], CA, "--role-session-name", 1),
    case("role-session-name/65-chars", CP, &["--role-session-name", X65], CA, "--role-session-name", 1),

    // URLs.
    case("endpoint/empty", CP, &["--endpoint", ""], NO_ENV, "--endpoint is empty", 1),
    case("endpoint/ftp", CP, &["--endpoint", "ftp://x"], NO_ENV, "must be an http:// or https:// URL", 1),
    case("endpoint/no-host", CP, &["--endpoint", "http://"], NO_ENV, "--endpoint", 1),
    case("endpoint/unclosed-bracket", CP, &["--endpoint", "http://[::1"], NO_ENV, "is not a valid URL", 1),
    case("endpoint/space", CP, &["--endpoint", "https://exa mple.com"], NO_ENV, "is not a valid URL", 1),
    // Without --endpoint, the variable decides.
    case("endpoint/AWS_ENDPOINT_URL-ftp", CP, &["--no-endpoint"], &[("AWS_ENDPOINT_URL", "ftp://elsewhere")], "must be an http:// or https:// URL", 1),
    case("endpoint/AWS_ENDPOINT_URL_ROLESANYWHERE-ftp", CP, &["--no-endpoint"], &[("AWS_ENDPOINT_URL_ROLESANYWHERE", "ftp://elsewhere")], "must be an http:// or https:// URL", 1),

    // PKCS#11 URIs.
    case("pkcs11/unknown-attribute", CP, &["--certificate", "pkcs11:label=x"], CA, "unknown attribute 'label'", 1),
    case("pkcs11/bad-percent-escape", CP, &["--certificate", "pkcs11:id=%G1"], CA, "two hex digits", 1),
    case("pkcs11/repeated-attribute", CP, &["--certificate", "pkcs11:token=a;token=b"], CA, "invalid PKCS#11 URI", 1),
    case("pkcs11/attribute-without-value", CP, &["--certificate", "pkcs11:object"], CA, "invalid PKCS#11 URI", 1),
    case("pkcs11/repeated-pin-value", CP, &["--certificate", "pkcs11:token=a?pin-value=1&pin-value=2"], CA, "invalid PKCS#11 URI", 1),
    case("pkcs11/unknown-query-attribute", CP, &["--certificate", "pkcs11:token=a?nope=1"], CA, "unknown query attribute", 1),
    case("pkcs11/slot-id-not-a-number", CP, &["--private-key", "pkcs11:slot-id=abc"], CA, "invalid PKCS#11 URI", 1),
    case("pkcs11/certificate-in-token-key-in-file", CP, &["--certificate", "pkcs11:token=ra;object=x", "--private-key", "{key}"], CA, "give the key as a pkcs11: URI too", 1),
    case("pkcs11/module-missing", CP, &["--certificate", "pkcs11:token=ra", "--pkcs11-lib", "/nonexistent/module.so"], CA, "cannot load the PKCS#11 module", 1),

    // Ports and hop limits.
    case("serve/port-too-large", SERVE, &["--port", "70000"], CA, "invalid value '70000' for '--port", 1),
    case("serve/port-negative", SERVE, &["--port", "-1"], CA, "'-1'", 1),
    case("serve/port-word", SERVE, &["--port", "abc"], CA, "invalid value 'abc' for '--port", 1),
    case("serve/port-in-use", SERVE, &["--port", "{busy-port}"], CA, "is in use", 1),
    case("serve/hop-limit-0", SERVE, &["--hop-limit", "0"], CA, "--hop-limit", 1),
    case("serve/hop-limit-256", SERVE, &["--hop-limit", "256"], CA, "--hop-limit", 1),
    case("serve/hop-limit-word", SERVE, &["--hop-limit", "x"], CA, "--hop-limit", 1),

    // Environment variables.
    case("env/http-timeout-word/credential-process", CP, &[], &[("AWS_SIGNING_HELPER_HTTP_TIMEOUT", "abc"), ("AWS_CA_BUNDLE", "{ca}")], "must be a whole number of seconds", 1),
    case("env/http-timeout-word/serve", SERVE, &[], &[("AWS_SIGNING_HELPER_HTTP_TIMEOUT", "abc"), ("AWS_CA_BUNDLE", "{ca}")], "must be a whole number of seconds", 1),
    case("env/http-timeout-word/update", UPDATE, &[], &[("AWS_SIGNING_HELPER_HTTP_TIMEOUT", "abc"), ("AWS_CA_BUNDLE", "{ca}")], "must be a whole number of seconds", 1),
    case("env/http-timeout-0/credential-process", CP, &[], &[("AWS_SIGNING_HELPER_HTTP_TIMEOUT", "0"), ("AWS_CA_BUNDLE", "{ca}")], "must be a whole number of seconds", 1),
    case("env/http-timeout-0/serve", SERVE, &[], &[("AWS_SIGNING_HELPER_HTTP_TIMEOUT", "0"), ("AWS_CA_BUNDLE", "{ca}")], "must be a whole number of seconds", 1),
    case("env/http-timeout-0/update", UPDATE, &[], &[("AWS_SIGNING_HELPER_HTTP_TIMEOUT", "0"), ("AWS_CA_BUNDLE", "{ca}")], "must be a whole number of seconds", 1),
    case("env/http-timeout-negative/credential-process", CP, &[], &[("AWS_SIGNING_HELPER_HTTP_TIMEOUT", "-1"), ("AWS_CA_BUNDLE", "{ca}")], "must be a whole number of seconds", 1),
    case("env/http-timeout-negative/serve", SERVE, &[], &[("AWS_SIGNING_HELPER_HTTP_TIMEOUT", "-1"), ("AWS_CA_BUNDLE", "{ca}")], "must be a whole number of seconds", 1),
    case("env/http-timeout-negative/update", UPDATE, &[], &[("AWS_SIGNING_HELPER_HTTP_TIMEOUT", "-1"), ("AWS_CA_BUNDLE", "{ca}")], "must be a whole number of seconds", 1),
    case("env/refresh-window-word/credential-process", CP, &[], &[("AWS_SIGNING_HELPER_REFRESH_WINDOW", "abc"), ("AWS_CA_BUNDLE", "{ca}")], "from 0 to 43200", 1),
    case("env/refresh-window-word/serve", SERVE, &[], &[("AWS_SIGNING_HELPER_REFRESH_WINDOW", "abc"), ("AWS_CA_BUNDLE", "{ca}")], "from 0 to 43200", 1),
    case("env/refresh-window-word/update", UPDATE, &[], &[("AWS_SIGNING_HELPER_REFRESH_WINDOW", "abc"), ("AWS_CA_BUNDLE", "{ca}")], "from 0 to 43200", 1),
    case("env/refresh-window-negative/credential-process", CP, &[], &[("AWS_SIGNING_HELPER_REFRESH_WINDOW", "-5"), ("AWS_CA_BUNDLE", "{ca}")], "from 0 to 43200", 1),
    case("env/refresh-window-negative/serve", SERVE, &[], &[("AWS_SIGNING_HELPER_REFRESH_WINDOW", "-5"), ("AWS_CA_BUNDLE", "{ca}")], "from 0 to 43200", 1),
    case("env/refresh-window-negative/update", UPDATE, &[], &[("AWS_SIGNING_HELPER_REFRESH_WINDOW", "-5"), ("AWS_CA_BUNDLE", "{ca}")], "from 0 to 43200", 1),
    case("env/refresh-window-too-large/credential-process", CP, &[], &[("AWS_SIGNING_HELPER_REFRESH_WINDOW", "99999"), ("AWS_CA_BUNDLE", "{ca}")], "from 0 to 43200", 1),
    case("env/refresh-window-too-large/serve", SERVE, &[], &[("AWS_SIGNING_HELPER_REFRESH_WINDOW", "99999"), ("AWS_CA_BUNDLE", "{ca}")], "from 0 to 43200", 1),
    case("env/refresh-window-too-large/update", UPDATE, &[], &[("AWS_SIGNING_HELPER_REFRESH_WINDOW", "99999"), ("AWS_CA_BUNDLE", "{ca}")], "from 0 to 43200", 1),
    case("env/proxy-space", CP, &["--with-proxy"], &[("HTTPS_PROXY", "http://a b"), ("AWS_CA_BUNDLE", "{ca}")], "is not a proxy URL", 1),
    case("env/proxy-ftp", CP, &["--with-proxy"], &[("HTTPS_PROXY", "ftp://proxy:21"), ("AWS_CA_BUNDLE", "{ca}")], "is not a proxy URL", 1),
    case("env/proxy-unclosed-bracket", CP, &["--with-proxy"], &[("HTTPS_PROXY", "http://user:s3cret@[::1"), ("AWS_CA_BUNDLE", "{ca}")], "is not a proxy URL", 1),
    case("env/token-file-two-lines", SERVE, &[], &[("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "{file:two-lines}"), ("AWS_CA_BUNDLE", "{ca}")], "more than one line", 1),
    case("env/no-home", UPDATE, &[], &[("HOME", ""), ("AWS_SHARED_CREDENTIALS_FILE", ""), ("AWS_CA_BUNDLE", "{ca}")], "HOME is not set", 1),

    // Other flags.
    case("update/profile-empty", UPDATE, &["--profile", ""], CA, "--profile", 1),
    case("update/profile-section-injection", UPDATE, &["--profile", "a]\n[b"], CA, "--profile", 1),
    case("sign-string/format-xml", BARE, &["sign-string", "--private-key", "{key}", "--format", "xml"], NO_ENV, "invalid value 'xml'", 1),
    case("sign-string/digest-md5", BARE, &["sign-string", "--private-key", "{key}", "--digest", "MD5"], NO_ENV, "invalid value 'MD5'", 1),
    case("sign-string/unknown-flag", BARE, &["sign-string", "--no-such-flag"], NO_ENV, "unexpected argument", 1),
    case("unknown-command", BARE, &["frobnicate"], NO_ENV, "unrecognized subcommand", 1),
    case("sign-string/no-key", BARE, &["sign-string"], NO_ENV, "no private key given", 1),
    case("read-certificate-data/no-certificate", BARE, &["read-certificate-data"], NO_ENV, "--certificate", 1),
    // Flags of other platforms' certificate stores, without a selector, do nothing here.
    case("system-store/credential-process", CP, &["--system-store-name", "MY"], NO_ENV, "--system-store-name has no effect on this platform", 1),
    case("system-store/update-latest-expiring", UPDATE, &["--certificate", "{pki:ec-p256/bundle-nopass.p12}", "--use-latest-expiring-certificate"], NO_ENV, "--use-latest-expiring-certificate has no effect on this platform", 1),
    case("system-store/read-certificate-data", BARE, &["read-certificate-data", "--certificate", "{pki:ec-p256/cert.pem}", "--system-store-name", "Root"], NO_ENV, "--system-store-name has no effect on this platform", 1),
    case("system-store/cert-selector", CP, &["--cert-selector", "Key=x509Subject,Value=CN=x"], NO_ENV, "--cert-selector", 1),
    case("tpm-handle", CP, &["--private-key", "handle:0x81000001"], CA, "TPM", 1),
    case("key-does-not-match-certificate", CP, &["--certificate", "{cert}", "--private-key", "{pki:rsa-2048/key-pkcs8.pem}"], CA, "does not match the certificate", 1),
    case("certificate-without-key", CP, &["--certificate", "{pki:rsa-2048/cert.der}", "--no-private-key"], CA, "--private-key", 1),

    // Crafted and unusual keys.
    case("key/pbes2-des3", BARE, &["sign-string", "--private-key", "{file:des3.pem}", "--pkcs8-password", "password"], NO_ENV, "convert it with", 1),
    case("key/explicit-curve", BARE, &["sign-string", "--private-key", "{file:explicit.pem}"], NO_ENV, "explicit curve parameters", 1),
    case("key/dsa", BARE, &["sign-string", "--private-key", "{testdata:pki/bad/dsa-key.pem}"], NO_ENV, "{testdata:pki/bad/dsa-key.pem}", 1),
    case("key/ed25519", BARE, &["sign-string", "--private-key", "{testdata:pki/bad/ed25519-key.pem}"], NO_ENV, "{testdata:pki/bad/ed25519-key.pem}", 1),
    case("key/secp256k1", BARE, &["sign-string", "--private-key", "{testdata:pki/bad/secp256k1-key.pem}"], NO_ENV, "{testdata:pki/bad/secp256k1-key.pem}", 1),
    case("key/corrupt", BARE, &["sign-string", "--private-key", "{testdata:pki/bad/corrupt-key.pem}"], NO_ENV, "{testdata:pki/bad/corrupt-key.pem}", 1),
    // Legacy PEM encryption is read, given the password; without a terminal, no prompt.
    case("key/legacy-pem-encrypted-no-password", BARE, &["sign-string", "--private-key", "{pki:rsa-2048/key-pkcs1-legacy-encrypted.pem}"], NO_ENV, "pass it with --pkcs8-password", 1),
];

/// Every case: [`CASES`], and each of [`FILE_READERS`] with each of [`BAD_FILES`] (those a
/// reader does not try left out), named `<reader>/<file>`.
fn all_cases() -> Vec<(String, Case)> {
    let mut all = Vec::new();
    for file in BAD_FILES {
        for (reads, reader) in FILE_READERS {
            let stderr = match reads {
                Reads::Input => file.as_input,
                Reads::CaBundle => file.as_ca_bundle,
                Reads::TokenFile => match file.as_token_file {
                    Some(line) => line,
                    None => continue,
                },
            };
            let case = Case {
                stderr,
                bad: file.name,
                ..*reader
            };
            all.push((format!("{}/{}", reader.name, file.name), case));
        }
    }
    all.extend(CASES.iter().map(|case| (case.name.to_string(), *case)));
    all
}

#[test]
fn every_bad_input_gets_one_line_exit_1_and_changes_nothing() {
    let cases = all_cases();
    let count = cases.len();
    assert!(count >= 150, "only {count} cases");
    let mut names: Vec<&str> = cases.iter().map(|(name, _)| name.as_str()).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(names.len(), before, "two cases have the same name");

    let fixture = Fixture::new();
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(name, case)| {
            let (args, env) = fixture.command_line(case);
            let why = run_case(
                &args,
                &env,
                &fixture.expand(case.stderr, case.bad),
                case.exit,
            )
            .err()?;
            Some(format!("{name}: {why}\n    args {args:?} env {env:?}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {count} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{count} bad invocations, each one line and exit 1");
}

/// What the cases run against: the endpoint, the bad files, a port in use.
struct Fixture {
    local: Local,
    files: tempfile::TempDir,
    busy: TcpListener,
}

impl Fixture {
    /// Starts the endpoint and makes every `{file:NAME}`.
    fn new() -> Fixture {
        let local = Local::start(&[]);
        let files = tempfile::tempdir().unwrap();
        let p = files.path();
        std::fs::write(p.join("empty"), b"").unwrap();
        std::fs::write(p.join("whitespace"), b" \n\t\r\n").unwrap();
        // Sparse: 17 MiB on paper, refused by its size before anything is read.
        std::fs::File::create(p.join("huge"))
            .unwrap()
            .set_len(17 << 20)
            .unwrap();
        let binary: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        std::fs::write(p.join("binary"), binary).unwrap();
        assert!(Command::new("mkfifo")
            .arg(p.join("fifo"))
            .status()
            .unwrap()
            .success());
        std::fs::create_dir(p.join("directory")).unwrap();
        std::os::unix::fs::symlink(p.join("loop-b"), p.join("loop-a")).unwrap();
        std::os::unix::fs::symlink(p.join("loop-a"), p.join("loop-b")).unwrap();
        std::fs::write(p.join("two-lines"), "one\ntwo\n").unwrap();

        // Credentials files update must refuse as they are.
        let c = p.join("creds");
        std::fs::create_dir(&c).unwrap();
        std::os::unix::fs::symlink("/dev/null", c.join("to-null")).unwrap();
        std::os::unix::fs::symlink(c.join("no/such/dir/credentials"), c.join("far")).unwrap();
        std::fs::write(
            c.join("latin1"),
            b"[default]\naws_access_key_id = \xe9t\xe9\n",
        )
        .unwrap();
        std::fs::File::create(c.join("huge"))
            .unwrap()
            .set_len(17 << 20)
            .unwrap();
        let open_dir = c.join("open");
        std::fs::create_dir(&open_dir).unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&open_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        }

        // Crafted keys: PBES2 with 3DES, and a key with explicit curve parameters.
        let key = pki("ec-p256", "key-pkcs8.pem");
        let des3 = p.join("des3.pem");
        openssl::openssl(&[
            "pkcs8",
            "-topk8",
            "-in",
            &key,
            "-v2",
            "des3",
            "-passout",
            "pass:password",
            "-out",
            des3.to_str().unwrap(),
        ]);
        let explicit = p.join("explicit.pem");
        openssl::openssl(&[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-param_enc",
            "explicit",
            "-noout",
            "-out",
            explicit.to_str().unwrap(),
        ]);

        let busy = TcpListener::bind("127.0.0.1:0").unwrap();
        Fixture { local, files, busy }
    }

    /// `{file:NAME}`.
    fn file(&self, name: &str) -> String {
        match name {
            "null" => "/dev/null".into(),
            "zero" => "/dev/zero".into(),
            "loop" => self.files.path().join("loop-a").display().to_string(),
            other => self.files.path().join(other).display().to_string(),
        }
    }

    /// `text` with its placeholders filled in (`bad` is the file `{bad}` stands for); panics on
    /// an unknown one, so that a typo in a table fails the test.
    fn expand(&self, text: &str, bad: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let close = rest[open..]
                .find('}')
                .unwrap_or_else(|| panic!("unclosed placeholder in {text:?}"))
                + open;
            let name = &rest[open + 1..close];
            let value = match name.split_once(':') {
                None => match name {
                    "bad" => self.file(bad),
                    "busy-port" => self.busy.local_addr().unwrap().port().to_string(),
                    "ca" => self.local.ca.display().to_string(),
                    "cert" => pki("ec-p256", "fullchain.pem"),
                    "key" => pki("ec-p256", "key-pkcs8.pem"),
                    "profile" => PROFILE.into(),
                    "trust-anchor" => TRUST_ANCHOR.into(),
                    _ => panic!("unknown placeholder {{{name}}} in {text:?}"),
                },
                Some(("file", file)) => self.file(file),
                Some(("pki", path)) => {
                    let (kind, file) = path.split_once('/').expect("{pki:KIND/FILE}");
                    pki(kind, file)
                }
                Some(("testdata", path)) => testdata(path).display().to_string(),
                Some(_) => panic!("unknown placeholder {{{name}}} in {text:?}"),
            };
            out.push_str(&value);
            rest = &rest[close + 1..];
        }
        out.push_str(rest);
        out
    }

    /// The case's arguments and environment, placeholders filled in.
    fn command_line(&self, case: &Case) -> (Vec<String>, Vec<(String, String)>) {
        let extra: Vec<String> = case
            .args
            .iter()
            .map(|arg| self.expand(arg, case.bad))
            .collect();
        let env = case
            .env
            .iter()
            .map(|(k, v)| (k.to_string(), self.expand(v, case.bad)))
            .collect();
        let command = match case.run {
            Run::Bare => return (extra, env),
            Run::With(command) => command,
        };
        let mut defaults: Vec<(&str, String)> = vec![
            ("--trust-anchor-arn", TRUST_ANCHOR.into()),
            ("--profile-arn", PROFILE.into()),
            ("--role-arn", ROLE.into()),
            ("--endpoint", self.local.url()),
            ("--certificate", pki("ec-p256", "fullchain.pem")),
            ("--private-key", pki("ec-p256", "key-pkcs8.pem")),
        ];
        if command == "serve" {
            defaults.push(("--port", "0".into()));
        }
        let given = |flag: &str| extra.iter().any(|arg| arg == flag);
        // A PKCS#12 bundle or a token holds the key: no default key beside it.
        let bundle_or_token = extra.windows(2).any(|w| {
            w[0] == "--certificate" && (w[1].ends_with(".p12") || w[1].starts_with("pkcs11:"))
        });
        if given("--no-private-key") || bundle_or_token {
            defaults.retain(|(flag, _)| *flag != "--private-key");
        }
        if given("--no-endpoint") {
            defaults.retain(|(flag, _)| *flag != "--endpoint");
        }
        let mut args = vec![command.to_string()];
        if command == "update" {
            args.push("--once".into());
        }
        for (flag, value) in defaults {
            if !given(flag) {
                args.extend([flag.to_string(), value]);
            }
        }
        args.extend(
            extra
                .into_iter()
                .filter(|arg| arg != "--no-private-key" && arg != "--no-endpoint"),
        );
        (args, env)
    }
}

/// Runs one command line in a fresh home holding a credentials file, and checks everything:
/// the exit status, nothing on stdout, one line on stderr holding `needle` and advice, no
/// panic, a bounded run, and the home directory unchanged.
fn run_case(
    args: &[String],
    env: &[(String, String)],
    needle: &str,
    exit: i32,
) -> Result<(), String> {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".aws")).unwrap();
    std::fs::write(
        home.path().join(".aws/credentials"),
        "[keep]\naws_access_key_id = AKIAKEEPKEEPKEEPKEEP\n",
    )
    .unwrap();
    let before = snapshot(home.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = helper_command(&args);
    cmd.current_dir(home.path())
        .env("HOME", home.path())
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path().join(".aws/credentials"),
        )
        .env_remove("AWS_CONTAINER_AUTHORIZATION_TOKEN")
        .env_remove("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
        .env("AWS_SIGNING_HELPER_HTTP_TIMEOUT", "5");
    // An empty value unsets the variable.
    for (k, v) in env {
        if v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
    let run = run_measured(cmd, Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&run.output.stderr).into_owned();
    let line = stderr.trim_end();
    if run.output.status.code() != Some(exit) {
        return Err(format!("exit {:?}: {stderr}", run.output.status.code()));
    }
    if !run.output.stdout.is_empty() {
        return Err(format!(
            "stdout: {:?}",
            String::from_utf8_lossy(&run.output.stdout)
        ));
    }
    if line.lines().count() != 1 || line.is_empty() {
        return Err(format!("not one line: {stderr}"));
    }
    if stderr.contains("panicked") {
        return Err(format!("panic: {stderr}"));
    }
    if !line.contains(needle) {
        return Err(format!("{needle:?} not in: {line}"));
    }
    let advice = [
        "; ", "expected", "must", "(like", "pass ", "use ", "check", "set ", "give ",
    ];
    if !advice.iter().any(|a| line.contains(a)) {
        return Err(format!("says nothing about what to do: {line}"));
    }
    if run.elapsed > Duration::from_secs(10) {
        return Err(format!("took {:?}", run.elapsed));
    }
    if snapshot(home.path()) != before {
        return Err("the home directory changed".into());
    }
    Ok(())
}

/// What a directory holds, recursively: names, sizes, modes and (small) contents.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, u32, Vec<u8>)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                dirs.push(path.clone());
            }
            let content = if meta.is_file() && meta.len() < 1 << 16 {
                std::fs::read(&path).unwrap()
            } else {
                Vec::new()
            };
            out.insert(path, (meta.len(), meta.permissions().mode(), content));
        }
    }
    out
}
