//! The per-account rate limit of the `rolesanywhere-local` binary (`--rate-limit`, `rate_limit`
//! in the configuration), driven from outside: CreateSession throttled with 429
//! `ThrottlingException`, STS with XML `Throttling`, `GET /_stats` agreeing with what was sent,
//! refill, the summary line at exit, and one-line errors for bad values.
//!
//! Bursts are sent back to back and their duration measured, so the assertions hold on a slow,
//! loaded machine: a bucket of N refilling at N a second admits at most N + N·t calls in t
//! seconds.

use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::common::*;
use test_support::Endpoint;

const BIN: &str = env!("CARGO_BIN_EXE_rolesanywhere-local");

/// A role in another account that the test role may assume.
const OTHER_ACCOUNT_ROLE: &str = "arn:aws:iam::210987654321:role/other-account-role";

/// A plain-HTTP `rolesanywhere-local` this test started.
struct Local {
    endpoint: Endpoint,
    client: reqwest::Client,
}

/// A response: status, `x-amzn-errortype`, content type, body.
struct Answer {
    status: u16,
    error_type: String,
    content_type: String,
    body: String,
}

impl Local {
    fn start(config: &str, args: &[&str]) -> Local {
        let mut all = vec!["--plain-http"];
        all.extend_from_slice(args);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        Local {
            endpoint: Endpoint::start(Path::new(BIN), config, &all),
            client,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.endpoint.url())
    }

    /// A CreateSession for the EC P-256 fixture, signed now for this endpoint. The endpoint
    /// accepts the same signed request again, so one signature serves a whole burst.
    fn signed_create_session(&self) -> Signed {
        let mut req = CreateSession::fixture("ec-p256", "us-east-1", &self.endpoint.host());
        req.amz_date = amz_date_now();
        req.sign()
    }

    /// STS headers for `body`, signed now with `creds` (access key id, secret, token).
    fn signed_sts(&self, body: &str, creds: &(String, String, String)) -> Vec<(String, String)> {
        let date = amz_date_now();
        StsRequest {
            host: &self.endpoint.host(),
            region: "us-east-1",
            amz_date: &date,
            body,
            access_key_id: &creds.0,
            secret: &creds.1,
            token: Some(&creds.2),
        }
        .sign()
    }

    async fn create_session(&self, signed: &Signed) -> Answer {
        let mut request = self
            .client
            .post(self.url(&format!("/sessions?{}", signed.query)))
            .body(signed.body.clone());
        for (name, value) in &signed.headers {
            if name != "host" {
                request = request.header(name, value);
            }
        }
        answer(request.send().await.expect("CreateSession answered")).await
    }

    async fn sts(&self, body: &str, headers: &[(String, String)]) -> Answer {
        let mut request = self.client.post(self.url("/")).body(body.to_string());
        for (name, value) in headers {
            if name != "host" {
                request = request.header(name, value);
            }
        }
        answer(request.send().await.expect("STS answered")).await
    }

    /// Credentials (access key id, secret, token) from a fresh CreateSession.
    async fn credentials(&self) -> (String, String, String) {
        let answer = self.create_session(&self.signed_create_session()).await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        let body: serde_json::Value = serde_json::from_str(&answer.body).expect("JSON");
        let creds = &body["credentialSet"][0]["credentials"];
        let field = |name: &str| creds[name].as_str().expect(name).to_string();
        (
            field("accessKeyId"),
            field("secretAccessKey"),
            field("sessionToken"),
        )
    }

    async fn stats(&self) -> serde_json::Value {
        let response = self
            .client
            .get(self.url("/_stats"))
            .send()
            .await
            .expect("stats answered");
        assert_eq!(response.status(), 200);
        let text = response.text().await.expect("stats body");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("stats not JSON ({e}): {text}"))
    }

    fn terminate(self) -> (ExitStatus, String) {
        self.endpoint.terminate()
    }
}

async fn answer(response: reqwest::Response) -> Answer {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (status, error_type, content_type) = (
        response.status().as_u16(),
        header("x-amzn-errortype"),
        header("content-type"),
    );
    let body = response.text().await.expect("body");
    Answer {
        status,
        error_type,
        content_type,
        body,
    }
}

/// Sends `count` calls back to back; returns their answers and how long the burst took.
async fn burst<F, Fut>(count: usize, mut call: F) -> (Vec<Answer>, Duration)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    let started = Instant::now();
    let mut answers = Vec::new();
    for _ in 0..count {
        answers.push(call().await);
    }
    (answers, started.elapsed())
}

/// Most calls a bucket of `rate` (full at the start) can admit in `elapsed`.
fn most_admitted(rate: f64, elapsed: Duration) -> usize {
    // Whole calls only; the bucket holds at least one.
    (rate.max(1.0) + rate * elapsed.as_secs_f64()).floor() as usize
}

fn unix_now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    i64::try_from(secs).expect("in range")
}

fn count(answers: &[Answer], status: u16) -> u64 {
    answers.iter().filter(|a| a.status == status).count() as u64
}

/// Checks an API's `/_stats` entry: its totals, and that its per-second counts add up to the
/// accepted total, keyed by Unix seconds between `from` and `to`.
fn check_api_stats(stats: &serde_json::Value, accepted: u64, throttled: u64, from: i64, to: i64) {
    assert_eq!(stats["accepted"], accepted, "{stats}");
    assert_eq!(stats["throttled"], throttled, "{stats}");
    let per_second = stats["per_second"].as_object().expect("per_second object");
    let mut sum = 0;
    for (second, n) in per_second {
        let second: i64 = second.parse().expect("keys are Unix seconds");
        assert!(
            (from..=to).contains(&second),
            "{second} not in {from}..={to}"
        );
        sum += n.as_u64().expect("count");
    }
    assert_eq!(sum, accepted, "{stats}");
}

fn config_with(top_level: &str, spec: &ConfigSpec) -> String {
    // Top-level keys must come before the first table.
    format!("{top_level}\n{}", spec.toml())
}

fn run_to_exit(args: &[&str]) -> (ExitStatus, String) {
    let out = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run rolesanywhere-local");
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn create_session_burst_is_throttled_counted_and_refills() {
    const RATE: f64 = 3.0;
    let local = Local::start(&ConfigSpec::default().toml(), &["--rate-limit", "3/s"]);
    let signed = local.signed_create_session();
    let from = unix_now();

    let (answers, elapsed) = burst(10, || local.create_session(&signed)).await;
    let (ok, throttled) = (count(&answers, 201), count(&answers, 429));
    assert_eq!(ok + throttled, 10, "only 201 and 429 expected");
    assert!(
        answers[..3].iter().all(|a| a.status == 201),
        "the full bucket admits a burst of 3"
    );
    assert!(
        ok as usize <= most_admitted(RATE, elapsed),
        "{ok} admitted in {elapsed:?}"
    );
    assert!(throttled >= 1, "10 calls in {elapsed:?} exceed 3/s");
    for refused in answers.iter().filter(|a| a.status == 429) {
        assert_eq!(refused.error_type, "ThrottlingException");
        assert_eq!(refused.content_type, "application/json");
        let body: serde_json::Value = serde_json::from_str(&refused.body).expect("JSON");
        assert_eq!(body, serde_json::json!({"message": "Rate exceeded"}));
    }

    let stats = local.stats().await;
    assert_eq!(stats["rate_limit_per_second"], RATE);
    check_api_stats(&stats["create_session"], ok, throttled, from, unix_now());
    check_api_stats(&stats["sts"], 0, 0, from, unix_now());

    // A third of a second refills one call's worth.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let again = local.create_session(&signed).await;
    assert_eq!(again.status, 201, "{}", again.body);
    let stats = local.stats().await;
    check_api_stats(
        &stats["create_session"],
        ok + 1,
        throttled,
        from,
        unix_now(),
    );

    let (status, stderr) = local.terminate();
    assert!(status.success(), "{status}: {stderr}");
    assert!(
        stderr.contains("create-session REJECTED status=429 error=ThrottlingException"),
        "{stderr}"
    );
    let summary: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("rolesanywhere-local: stats: "))
        .collect();
    assert_eq!(summary.len(), 1, "{stderr}");
    let expected = format!(
        "rolesanywhere-local: stats: create_session accepted={} throttled={throttled} peak=",
        ok + 1
    );
    assert!(summary[0].starts_with(&expected), "{}", summary[0]);
    assert!(
        summary[0].ends_with(" sts accepted=0 throttled=0 peak=0/s (rate limit: 3/s per account)"),
        "{}",
        summary[0]
    );
}

#[tokio::test]
async fn sts_is_throttled_in_xml_per_calling_account() {
    const RATE: f64 = 2.0;
    let spec = ConfigSpec {
        extra: format!(
            "\n[[role]]\narn = \"{OTHER_ACCOUNT_ROLE}\"\ntrusted_roles = [\"{ROLE}\"]\n"
        ),
        ..ConfigSpec::default()
    };
    let local = Local::start(&spec.toml(), &["--rate-limit", "2"]);
    let from = unix_now();
    let creds = local.credentials().await;

    // Chain into the other account (charged to ours: one of our 2), for credentials of its own.
    let assume = "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A210987654321\
                  %3Arole%2Fother-account-role&RoleSessionName=quota";
    let assumed = local.sts(assume, &local.signed_sts(assume, &creds)).await;
    assert_eq!(assumed.status, 200, "{}", assumed.body);
    let other = (
        xml_value(&assumed.body, "AccessKeyId").expect("key"),
        xml_value(&assumed.body, "SecretAccessKey").expect("secret"),
        xml_value(&assumed.body, "SessionToken").expect("token"),
    );

    let identity = "Action=GetCallerIdentity&Version=2011-06-15";
    let ours = local.signed_sts(identity, &creds);
    let theirs = local.signed_sts(identity, &other);
    let unknown = local.signed_sts(
        identity,
        &(
            "ASIAUNKNOWNKEY000000".into(),
            creds.1.clone(),
            creds.2.clone(),
        ),
    );
    // The AssumeRole left our bucket one call; signing since has refilled it some.
    let (answers, elapsed) = burst(6, || local.sts(identity, &ours)).await;
    let (ok, throttled) = (count(&answers, 200), count(&answers, 400));
    assert_eq!(ok + throttled, 6, "only 200 and 400 expected");
    assert_eq!(answers[0].status, 200, "{}", answers[0].body);
    assert!(
        ok as usize <= most_admitted(RATE, elapsed),
        "{ok} admitted in {elapsed:?}"
    );
    assert!(throttled >= 1, "6 calls in {elapsed:?} exceed 2/s");
    for refused in answers.iter().filter(|a| a.status == 400) {
        assert!(
            refused.content_type.starts_with("text/xml"),
            "{}",
            refused.content_type
        );
        assert!(
            refused.body.starts_with("<ErrorResponse"),
            "{}",
            refused.body
        );
        assert_eq!(xml_value(&refused.body, "Type").as_deref(), Some("Sender"));
        assert_eq!(
            xml_value(&refused.body, "Code").as_deref(),
            Some("Throttling")
        );
        assert_eq!(
            xml_value(&refused.body, "Message").as_deref(),
            Some("Rate exceeded")
        );
        assert!(xml_value(&refused.body, "RequestId").is_some());
    }

    // The other account's credentials have a bucket of their own; a key nobody was issued is
    // charged to no one and refused by authentication as usual.
    let other_identity = local.sts(identity, &theirs).await;
    assert_eq!(other_identity.status, 200, "{}", other_identity.body);
    assert_eq!(
        xml_value(&other_identity.body, "Account").as_deref(),
        Some("210987654321")
    );
    let stranger = local.sts(identity, &unknown).await;
    assert_eq!(stranger.status, 403, "{}", stranger.body);
    assert_eq!(
        xml_value(&stranger.body, "Code").as_deref(),
        Some("InvalidClientTokenId")
    );

    let stats = local.stats().await;
    assert_eq!(stats["rate_limit_per_second"], RATE);
    // AssumeRole, the burst's accepted calls, the other account's call and the stranger's.
    check_api_stats(&stats["sts"], 1 + ok + 2, throttled, from, unix_now());
    check_api_stats(&stats["create_session"], 1, 0, from, unix_now());

    let calls: serde_json::Value = serde_json::from_str(
        &local
            .client
            .get(local.url("/_local/calls"))
            .send()
            .await
            .expect("calls")
            .text()
            .await
            .expect("calls body"),
    )
    .expect("calls JSON");
    let logged = calls
        .as_array()
        .expect("array")
        .iter()
        .filter(|c| c["error_type"] == "Throttling")
        .inspect(|c| assert_eq!(c["action"], "GetCallerIdentity", "{c}"))
        .count() as u64;
    assert_eq!(logged, throttled);
    let (status, stderr) = local.terminate();
    assert!(status.success(), "{status}: {stderr}");
    assert!(
        stderr.contains("sts REJECTED status=400 error=Throttling"),
        "{stderr}"
    );
}

#[tokio::test]
async fn toml_rate_limit_applies_and_the_flag_overrides_it() {
    // One call every 5 s: the second of two back-to-back calls cannot find a refill.
    let config = config_with("rate_limit = \"0.2/s\"", &ConfigSpec::default());
    let local = Local::start(&config, &[]);
    let signed = local.signed_create_session();
    let first = local.create_session(&signed).await;
    let second = local.create_session(&signed).await;
    assert_eq!((first.status, second.status), (201, 429), "{}", second.body);
    assert_eq!(second.error_type, "ThrottlingException");
    let stats = local.stats().await;
    assert_eq!(stats["rate_limit_per_second"], 0.2);
    assert_eq!(stats["create_session"]["throttled"], 1);
    let (_, stderr) = local.terminate();
    assert!(
        stderr.contains("(rate limit: 0.2/s per account)"),
        "{stderr}"
    );

    let local = Local::start(&config, &["--rate-limit", "100"]);
    let signed = local.signed_create_session();
    for _ in 0..3 {
        let answer = local.create_session(&signed).await;
        assert_eq!(answer.status, 201, "{}", answer.body);
    }
    assert_eq!(local.stats().await["rate_limit_per_second"], 100.0);

    let config = config_with("rate_limit = 2.5", &ConfigSpec::default());
    let local = Local::start(&config, &[]);
    assert_eq!(local.stats().await["rate_limit_per_second"], 2.5);
}

#[tokio::test]
async fn without_a_limit_nothing_is_throttled_but_everything_is_counted() {
    let local = Local::start(&ConfigSpec::default().toml(), &[]);
    let from = unix_now();
    let signed = local.signed_create_session();
    let (answers, _) = burst(12, || local.create_session(&signed)).await;
    assert_eq!(count(&answers, 201), 12);
    let stats = local.stats().await;
    assert_eq!(stats["rate_limit_per_second"], serde_json::Value::Null);
    check_api_stats(&stats["create_session"], 12, 0, from, unix_now());
    let (status, stderr) = local.terminate();
    assert!(status.success());
    assert!(
        stderr.contains("rolesanywhere-local: stats: create_session accepted=12 throttled=0 peak="),
        "{stderr}"
    );
    assert!(stderr.contains("(no rate limit)"), "{stderr}");
}

#[test]
fn bad_rate_limits_are_one_line_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = ConfigSpec::default().write(dir.path());
    let config = config.to_str().expect("utf-8");
    for value in [
        "0", "abc", "-1", "10/m", "1.2345", "", "2.5/min", "1e3", "99999999",
    ] {
        let (status, stderr) =
            run_to_exit(&["--config", config, "--plain-http", "--rate-limit", value]);
        assert_eq!(status.code(), Some(1), "{value}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{value}: {stderr}");
        let expected = format!("rolesanywhere-local: error: --rate-limit '{value}' ");
        assert!(stderr.starts_with(&expected), "{value}: {stderr}");
        assert!(stderr.contains("give "), "says what to do: {stderr}");
    }

    let path = dir.path().join("limited.toml");
    for (value, says) in [
        ("0", "'0' is out of range"),
        ("\"fast\"", "'fast' is not a rate"),
        ("[10]", "found array"),
    ] {
        std::fs::write(
            &path,
            config_with(&format!("rate_limit = {value}"), &ConfigSpec::default()),
        )
        .expect("write");
        let (status, stderr) =
            run_to_exit(&["--config", path.to_str().expect("utf-8"), "--plain-http"]);
        assert_eq!(status.code(), Some(1), "{value}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{value}: {stderr}");
        assert!(stderr.contains("limited.toml: rate_limit "), "{stderr}");
        assert!(stderr.contains(says), "{value}: {stderr}");
    }
}
