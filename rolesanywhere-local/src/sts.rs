//! A minimal STS (query protocol, `2011-06-15`): `GetCallerIdentity` and `AssumeRole`, for
//! callers holding credentials this endpoint issued. Responses and errors use the real XML
//! shapes so the AWS CLI and SDKs can talk to it with `--endpoint-url`.
//!
//! Authentication: SigV4 (`sigv4.rs`) with the secret of an issued access key, the
//! `X-Amz-Security-Token` equal to that key's session token, and the session unexpired.
//! `AssumeRole` further requires the target to be a configured `[[role]]` (in any account) whose
//! `trusted_roles` lists the caller's role, the `ExternalId` the role asks for, and, when it
//! requires MFA, a configured device's serial with a current TOTP code (one step either way,
//! each code once); as with real role chaining, sessions are capped at one hour.

use std::collections::HashMap;
use std::time::SystemTime;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::arn::{self, Arn, Kind};
use crate::canonical;
use crate::clock::{iso8601, unix_seconds};
use crate::config::{Config, MAX_DURATION_SECONDS, MIN_DURATION_SECONDS};
use crate::session::{same_secret, Session, SessionStore};
use crate::sigv4;
use crate::totp::{self, UsedCodes};
use crate::verify::Request;

const XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
/// Longest session a chained `AssumeRole` may request.
const ROLE_CHAINING_MAX_SECONDS: i64 = 3600;

/// An STS error in its wire form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StsError {
    pub(crate) code: &'static str,
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl StsError {
    fn new(code: &'static str, status: StatusCode, message: impl Into<String>) -> Self {
        StsError {
            code,
            status,
            message: message.into(),
        }
    }

    pub(crate) fn access_denied(message: impl Into<String>) -> Self {
        Self::new("AccessDenied", StatusCode::FORBIDDEN, message)
    }

    pub(crate) fn expired_token() -> Self {
        Self::new(
            "ExpiredToken",
            StatusCode::FORBIDDEN,
            "The security token included in the request is expired",
        )
    }

    pub(crate) fn invalid_action(message: impl Into<String>) -> Self {
        Self::new("InvalidAction", StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn invalid_token() -> Self {
        Self::new(
            "InvalidClientTokenId",
            StatusCode::FORBIDDEN,
            "The security token included in the request is invalid.",
        )
    }

    pub(crate) fn throttling(message: impl Into<String>) -> Self {
        Self::new("Throttling", StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationError", StatusCode::BAD_REQUEST, message)
    }

    /// The XML error document, with the HTTP status.
    pub(crate) fn into_response(self, request_id: &str) -> Response {
        let body = format!(
            "<ErrorResponse xmlns=\"{XMLNS}\">\n  <Error>\n    <Type>Sender</Type>\n    \
             <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{}</RequestId>\n\
             </ErrorResponse>\n",
            self.code,
            xml_escape(&self.message),
            request_id
        );
        xml_response(self.status, body, request_id)
    }
}

impl From<sigv4::Rejection> for StsError {
    fn from(rejection: sigv4::Rejection) -> Self {
        match rejection {
            sigv4::Rejection::IncompleteSignature(message) => {
                Self::new("IncompleteSignature", StatusCode::BAD_REQUEST, message)
            }
            sigv4::Rejection::MissingAuthentication(message) => {
                Self::new("MissingAuthenticationToken", StatusCode::FORBIDDEN, message)
            }
            sigv4::Rejection::SignatureMismatch(message) => {
                Self::new("SignatureDoesNotMatch", StatusCode::FORBIDDEN, message)
            }
        }
    }
}

/// What an STS call did, for the response and the call log.
#[derive(Debug)]
pub(crate) struct StsCall {
    pub(crate) action: Option<String>,
    pub(crate) access_key_id: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) signed_headers: Vec<String>,
    pub(crate) caller_arn: Option<String>,
    /// What a successful call did, for the log.
    pub(crate) message: Option<String>,
    /// The successful XML body (without the request id filled in) or the error.
    pub(crate) result: Result<String, StsError>,
}

/// A call turned away before it was looked at (the rate limit, or fault injection).
pub(crate) fn throttled_call(action: Option<&str>, message: &str) -> StsCall {
    StsCall {
        action: action.map(str::to_string),
        access_key_id: None,
        region: None,
        signed_headers: Vec::new(),
        caller_arn: None,
        message: None,
        result: Err(StsError::throttling(message)),
    }
}

/// The account the call's credentials belong to, from the access key id in its
/// `Authorization` header, checking nothing else: the quota charges it before the call is
/// authenticated. `None` without a key this endpoint issued (and still remembers).
pub(crate) fn caller_account(store: &SessionStore, headers: &HeaderMap) -> Option<String> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let auth = canonical::parse_authorization(value).ok()?;
    let access_key_id = auth.credential.split('/').next()?;
    store.get(access_key_id).map(|session| session.account)
}

/// The `Action` of a call as sent (the form body's, else the query's; not percent-decoded),
/// for the log of a call refused before its parameters were read.
pub(crate) fn claimed_action<'a>(query: Option<&'a str>, body: &'a [u8]) -> Option<&'a str> {
    let action = |form: &'a str| {
        form.split('&')
            .find_map(|pair| pair.strip_prefix("Action="))
    };
    std::str::from_utf8(body)
        .ok()
        .and_then(action)
        .or_else(|| query.and_then(action))
}

/// Authenticates and performs one STS call.
pub(crate) fn handle(
    config: &Config,
    store: &SessionStore,
    used_codes: &UsedCodes,
    request: &Request<'_>,
    now: SystemTime,
    request_id: &str,
) -> StsCall {
    let mut call = StsCall {
        action: None,
        access_key_id: None,
        region: None,
        signed_headers: Vec::new(),
        caller_arn: None,
        message: None,
        result: Err(StsError::invalid_action("unset")),
    };
    call.result = run(
        config, store, used_codes, request, now, request_id, &mut call,
    );
    call
}

fn run(
    config: &Config,
    store: &SessionStore,
    used_codes: &UsedCodes,
    request: &Request<'_>,
    now: SystemTime,
    request_id: &str,
    call: &mut StsCall,
) -> Result<String, StsError> {
    let params = parameters(request)?;
    call.action = params.get("Action").cloned();

    let parsed = sigv4::parse(request, now)?;
    call.access_key_id = Some(parsed.scope.id.to_string());
    call.region = Some(parsed.scope.region.to_string());
    call.signed_headers = parsed
        .auth
        .signed_headers
        .iter()
        .map(|s| s.to_string())
        .collect();

    let session = store
        .get(parsed.scope.id)
        .ok_or_else(StsError::invalid_token)?;
    let token = request
        .headers
        .get("x-amz-security-token")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(StsError::invalid_token)?;
    if !same_secret(token, &session.session_token) {
        return Err(StsError::invalid_token());
    }
    let now_secs = unix_seconds(now);
    if now_secs >= session.expires_at {
        return Err(StsError::expired_token());
    }
    sigv4::verify_signature(request, &parsed, &session.secret_access_key)?;
    call.caller_arn = Some(session.assumed_role_arn(config.partition));

    let action = call.action.as_deref().ok_or_else(|| {
        StsError::new(
            "MissingAction",
            StatusCode::BAD_REQUEST,
            "Missing Action parameter",
        )
    })?;
    match action {
        "GetCallerIdentity" => Ok(get_caller_identity(config, &session, request_id)),
        "AssumeRole" => {
            let (xml, message) = assume_role(
                config, store, used_codes, &session, &params, now_secs, request_id,
            )?;
            call.message = Some(message);
            Ok(xml)
        }
        other => Err(StsError::invalid_action(format!(
            "Could not find operation {other} for version 2011-06-15 (this local STS implements \
             GetCallerIdentity and AssumeRole)"
        ))),
    }
}

/// Query parameters plus, for form-encoded POSTs, the body's (the body wins).
fn parameters(request: &Request<'_>) -> Result<HashMap<String, String>, StsError> {
    let mut params = HashMap::new();
    let mut add = |raw: &str| -> Result<(), StsError> {
        for (name, value) in canonical::parse_pairs(raw).map_err(StsError::validation)? {
            let (Ok(name), Ok(value)) = (String::from_utf8(name), String::from_utf8(value)) else {
                return Err(StsError::validation("parameters must be UTF-8"));
            };
            params.insert(name, value);
        }
        Ok(())
    };
    add(request.query.unwrap_or(""))?;
    let is_form = request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !request.body.is_empty() {
        if !is_form {
            return Err(StsError::validation(
                "the request body must be application/x-www-form-urlencoded",
            ));
        }
        let body = std::str::from_utf8(request.body)
            .map_err(|_| StsError::validation("the request body is not UTF-8"))?;
        add(body)?;
    }
    Ok(params)
}

fn get_caller_identity(config: &Config, session: &Session, request_id: &str) -> String {
    format!(
        "<GetCallerIdentityResponse xmlns=\"{XMLNS}\">\n  <GetCallerIdentityResult>\n    \
         <Arn>{}</Arn>\n    <UserId>{}</UserId>\n    <Account>{}</Account>\n  \
         </GetCallerIdentityResult>\n  <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  \
         </ResponseMetadata>\n</GetCallerIdentityResponse>\n",
        xml_escape(&session.assumed_role_arn(config.partition)),
        xml_escape(&session.assumed_role_id()),
        xml_escape(&session.account),
    )
}

fn assume_role(
    config: &Config,
    store: &SessionStore,
    used_codes: &UsedCodes,
    caller: &Session,
    params: &HashMap<String, String>,
    now: i64,
    request_id: &str,
) -> Result<(String, String), StsError> {
    let required = |name: &str, member: &str| {
        params.get(name).ok_or_else(|| {
            StsError::validation(format!(
                "1 validation error detected: Value null at '{member}' failed to satisfy \
                 constraint: Member must not be null"
            ))
        })
    };
    let role_arn_text = required("RoleArn", "roleArn")?;
    let session_name = required("RoleSessionName", "roleSessionName")?;
    let target = Arn::parse(Kind::Role, role_arn_text).map_err(StsError::validation)?;
    if !arn::valid_session_name(session_name) {
        return Err(StsError::validation(format!(
            "1 validation error detected: Value '{session_name}' at 'roleSessionName' failed to \
             satisfy constraint: Member must be 2-64 characters matching [\\w+=,.@-]*"
        )));
    }
    let duration = match params.get("DurationSeconds") {
        None => ROLE_CHAINING_MAX_SECONDS,
        Some(text) => text.parse::<i64>().map_err(|_| {
            StsError::validation(format!("DurationSeconds '{text}' is not an integer"))
        })?,
    };
    if !(i64::from(MIN_DURATION_SECONDS)..=i64::from(MAX_DURATION_SECONDS)).contains(&duration) {
        return Err(StsError::validation(format!(
            "1 validation error detected: Value '{duration}' at 'durationSeconds' failed to \
             satisfy constraint: Member must have value between {MIN_DURATION_SECONDS} and \
             {MAX_DURATION_SECONDS}"
        )));
    }
    if duration > ROLE_CHAINING_MAX_SECONDS {
        return Err(StsError::validation(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by \
             role chaining.",
        ));
    }
    let denied = || {
        StsError::access_denied(format!(
            "User: {} is not authorized to perform: sts:AssumeRole on resource: {target}",
            caller.assumed_role_arn(config.partition)
        ))
    };
    let external_id = params.get("ExternalId");
    if let Some(id) = external_id {
        let valid = |b: u8| b.is_ascii_alphanumeric() || b"_+=,.@:/-".contains(&b);
        if !(2..=1224).contains(&id.len()) || !id.bytes().all(valid) {
            return Err(StsError::validation(
                "1 validation error detected: Value at 'externalId' failed to satisfy \
                 constraint: Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]* \
                 and have length between 2 and 1224",
            ));
        }
    }
    let mfa = check_mfa(config, params, now)?;
    let role = config.role(target.as_str()).ok_or_else(denied)?;
    if !role
        .trusted_roles
        .iter()
        .any(|trusted| trusted.as_str() == caller.role_arn)
    {
        return Err(denied());
    }
    // The trust policy's conditions: AWS says no more than "not authorized" for either.
    if role.external_id.is_some() && role.external_id.as_ref() != external_id {
        return Err(denied());
    }
    if role.require_mfa && mfa.is_none() {
        return Err(denied());
    }
    // A code works once, as on AWS; it is spent only by a call that succeeds.
    if let Some((serial, step)) = &mfa {
        if !used_codes.claim(serial, *step) {
            return Err(invalid_code());
        }
    }
    let mfa = mfa.map(|(serial, _)| serial);
    let issued = store.issue(
        &target.account,
        target.as_str(),
        &target.name,
        session_name,
        now + duration,
        now,
    );
    let message = format!(
        "assumed {target} as '{session_name}' for {duration}s (external ID: {}, MFA: {})",
        if external_id.is_some() {
            "given"
        } else {
            "none"
        },
        mfa.as_deref().unwrap_or("none")
    );
    let xml = format!(
        "<AssumeRoleResponse xmlns=\"{XMLNS}\">\n  <AssumeRoleResult>\n    <AssumedRoleUser>\n      \
         <AssumedRoleId>{}</AssumedRoleId>\n      <Arn>{}</Arn>\n    </AssumedRoleUser>\n    \
         <Credentials>\n      <AccessKeyId>{}</AccessKeyId>\n      \
         <SecretAccessKey>{}</SecretAccessKey>\n      <SessionToken>{}</SessionToken>\n      \
         <Expiration>{}</Expiration>\n    </Credentials>\n  </AssumeRoleResult>\n  \
         <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n\
         </AssumeRoleResponse>\n",
        xml_escape(&issued.assumed_role_id()),
        xml_escape(&issued.assumed_role_arn(config.partition)),
        issued.access_key_id,
        xml_escape(&issued.secret_access_key),
        xml_escape(&issued.session_token),
        iso8601(issued.expires_at),
    );
    Ok((xml, message))
}

fn invalid_code() -> StsError {
    StsError::access_denied("MultiFactorAuthentication failed with invalid MFA one time pass code.")
}

/// Checks `SerialNumber` and `TokenCode`: the device's serial and the code's step when they
/// prove MFA.
fn check_mfa(
    config: &Config,
    params: &HashMap<String, String>,
    now: i64,
) -> Result<Option<(String, i64)>, StsError> {
    let (serial, code) = match (params.get("SerialNumber"), params.get("TokenCode")) {
        (None, None) => return Ok(None),
        (Some(serial), Some(code)) => (serial, code),
        _ => {
            return Err(StsError::validation(
                "SerialNumber and TokenCode must be given together",
            ))
        }
    };
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(StsError::validation(
            "1 validation error detected: Value at 'tokenCode' failed to satisfy constraint: \
             Member must have length 6 and satisfy regular expression pattern: [\\d]*",
        ));
    }
    let device = config.mfa_device(serial).ok_or_else(|| {
        StsError::access_denied(
            "MultiFactorAuthentication failed, unable to validate MFA code. Please verify your \
             MFA serial number is valid and associated with this user.",
        )
    })?;
    let step = totp::matching_step(&device.secret, code, now).ok_or_else(invalid_code)?;
    Ok(Some((serial.clone(), step)))
}

/// A `text/xml` response carrying the request id header.
pub(crate) fn xml_response(status: StatusCode, body: String, request_id: &str) -> Response {
    let mut response = (
        status,
        [(axum::http::header::CONTENT_TYPE, "text/xml")],
        body,
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}
