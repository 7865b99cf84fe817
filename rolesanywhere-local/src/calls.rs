//! The call log: one [`CallRecord`] per verdict of the endpoint, written to stderr as one line
//! (when logging) and kept, the most recent 10,000, for `GET /_local/calls`.
//!
//! Secrets never enter it: [`redacted_headers`] replaces the `Authorization` signature and the
//! session token before a record is made, and issued credentials appear as their access key id.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use axum::http::HeaderMap;
use serde::Serialize;

/// Most records kept by the call log; older ones are dropped first.
const MAX_CALL_RECORDS: usize = 10_000;

/// One verdict of the endpoint, as logged and served at `GET /_local/calls`.
///
/// Secrets never appear: the `Authorization` signature and `X-Amz-Security-Token` are redacted
/// from `headers`, and issued credentials are represented by their access key id only.
#[derive(Clone, Debug, Serialize)]
pub struct CallRecord {
    /// 1-based order of the call.
    pub seq: u64,
    /// Server time of the verdict (ISO-8601).
    pub time: String,
    /// `create-session` or `sts`.
    pub kind: &'static str,
    /// Whether the call succeeded.
    pub ok: bool,
    /// The HTTP status returned.
    pub status: u16,
    /// The exception type or STS error code, on failure.
    pub error_type: Option<String>,
    /// The error message, on failure.
    pub message: Option<String>,
    /// The algorithm named in the `Authorization` header.
    pub algorithm: Option<String>,
    /// Create-session: the certificate serial (decimal) from the credential.
    pub serial: Option<String>,
    /// The headers the client signed.
    pub signed_headers: Vec<String>,
    /// STS: the action.
    pub action: Option<String>,
    /// STS: the calling access key id. Create-session: the access key id issued.
    pub access_key_id: Option<String>,
    /// The credential scope region.
    pub region: Option<String>,
    /// The role assumed (create-session) or the caller's assumed-role ARN (STS).
    pub role_arn: Option<String>,
    /// Request headers, with secrets redacted.
    pub headers: BTreeMap<String, String>,
}

/// The endpoint's call log.
#[derive(Debug)]
pub(crate) struct CallLog {
    /// Write one line per record to stderr.
    log: bool,
    /// The last sequence number given.
    seq: AtomicU64,
    /// Oldest first. A deque, so that once full (as under a flood of throttled calls) dropping
    /// the oldest record costs nothing rather than moving the other 9,999.
    calls: Mutex<VecDeque<CallRecord>>,
}

impl CallLog {
    pub(crate) fn new(log: bool) -> Self {
        CallLog {
            log,
            seq: AtomicU64::new(0),
            calls: Mutex::new(VecDeque::new()),
        }
    }

    /// A copy of the records kept, oldest first.
    pub(crate) fn snapshot(&self) -> Vec<CallRecord> {
        // Records are pushed whole; a poisoned lock still holds a consistent log.
        let calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        calls.iter().cloned().collect()
    }

    /// Numbers `record`, logs it and keeps it (dropping the oldest when full).
    pub(crate) fn record(&self, mut record: CallRecord) {
        record.seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        if self.log {
            eprintln!("rolesanywhere-local: {}", log_line(&record));
        }
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        if calls.len() >= MAX_CALL_RECORDS {
            calls.pop_front();
        }
        calls.push_back(record);
    }
}

/// Request headers for the log: the signature in `Authorization` and the whole session token
/// are replaced by placeholders.
pub(crate) fn redacted_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let text = String::from_utf8_lossy(value.as_bytes());
        let shown = match name.as_str() {
            "authorization" => match text.find("Signature=") {
                Some(i) => format!("{}Signature=<redacted>", &text[..i]),
                None => text.into_owned(),
            },
            "x-amz-security-token" => format!("<redacted, {} characters>", text.len()),
            _ => text.into_owned(),
        };
        out.entry(name.as_str().to_string())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&shown);
            })
            .or_insert(shown);
    }
    out
}

/// One line for stderr. Messages may embed a string to sign; escaping control characters keeps
/// it on one line.
fn log_line(record: &CallRecord) -> String {
    let verdict = if record.ok { "ACCEPTED" } else { "REJECTED" };
    let mut line = format!(
        "#{} {} {verdict} status={}",
        record.seq, record.kind, record.status
    );
    if let Some(error) = &record.error_type {
        line.push_str(&format!(" error={error}"));
    }
    for (key, value) in [
        ("action", &record.action),
        ("algorithm", &record.algorithm),
        ("serial", &record.serial),
        ("access_key_id", &record.access_key_id),
        ("region", &record.region),
        ("role", &record.role_arn),
    ] {
        if let Some(value) = value {
            line.push_str(&format!(" {key}={value}"));
        }
    }
    if !record.signed_headers.is_empty() {
        line.push_str(&format!(
            " signed_headers={}",
            record.signed_headers.join(";")
        ));
    }
    if let Some(message) = &record.message {
        line.push_str(" message=");
        for c in message.chars() {
            match c {
                '\n' => line.push_str("\\n"),
                '\r' => line.push_str("\\r"),
                '\t' => line.push_str("\\t"),
                c if c.is_control() => line.push_str(&c.escape_unicode().to_string()),
                c => line.push(c),
            }
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: &'static str) -> CallRecord {
        CallRecord {
            seq: 0,
            time: "2025-01-02T03:04:05Z".into(),
            kind,
            ok: false,
            status: 429,
            error_type: Some("ThrottlingException".into()),
            message: Some("Rate exceeded".into()),
            algorithm: None,
            serial: None,
            signed_headers: Vec::new(),
            action: None,
            access_key_id: None,
            region: None,
            role_arn: None,
            headers: BTreeMap::new(),
        }
    }

    #[test]
    fn a_full_log_drops_its_oldest_records() {
        let log = CallLog::new(false);
        for _ in 0..MAX_CALL_RECORDS + 5 {
            log.record(record("create-session"));
        }
        let calls = log.snapshot();
        assert_eq!(calls.len(), MAX_CALL_RECORDS);
        assert_eq!(calls[0].seq, 6);
        assert_eq!(calls[MAX_CALL_RECORDS - 1].seq, MAX_CALL_RECORDS as u64 + 5);
    }

    #[test]
    fn log_lines_redact_and_stay_on_one_line() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=ASIAX/20250102/us-east-1/sts/aws4_request, \
             SignedHeaders=host, Signature=0123abcd"
                .parse()
                .expect("header value"),
        );
        headers.insert(
            "x-amz-security-token",
            "secret-token".parse().expect("value"),
        );
        let shown = redacted_headers(&headers);
        assert!(shown["authorization"].ends_with("Signature=<redacted>"));
        assert_eq!(shown["x-amz-security-token"], "<redacted, 12 characters>");

        let mut sts = record("sts");
        sts.seq = 7;
        sts.message = Some("line one\nline two".into());
        assert_eq!(
            log_line(&sts),
            "#7 sts REJECTED status=429 error=ThrottlingException message=line one\\nline two"
        );
    }
}
