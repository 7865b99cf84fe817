//! sts:AssumeRole hops: parsing `--assume-role`, the signed request, and reading STS answers.

use super::*;

const ROLE: &str = "arn:aws:iam::222233334444:role/deploy";

#[test]
fn a_bare_arn_is_a_hop() {
    let hop = Hop::parse(ROLE).unwrap();
    assert_eq!(hop.role.as_str(), ROLE);
    assert!(hop.external_id.is_none() && hop.duration_seconds.is_none());
}

#[test]
fn fields_follow_the_arn_and_commas_inside_values_stay() {
    let hop = Hop::parse(&format!(
        "{ROLE},external_id=a,b=c,role-session-name=me@x,duration_seconds=900,\
         mfa_serial=arn:aws:iam::111122223333:mfa/alice,token_code=123456"
    ))
    .unwrap();
    assert_eq!(hop.external_id.as_deref(), Some("a,b=c"));
    assert_eq!(hop.session_name.as_deref(), Some("me@x"));
    assert_eq!(hop.duration_seconds, Some(900));
    assert_eq!(
        hop.mfa_serial.as_deref(),
        Some("arn:aws:iam::111122223333:mfa/alice")
    );
    assert_eq!(
        hop.token_code.as_deref().map(String::as_str),
        Some("123456")
    );
    assert!(!format!("{hop:?}").contains("123456"));
    // A comma in the role name.
    let odd = "arn:aws:iam::222233334444:role/a,b";
    assert_eq!(Hop::parse(odd).unwrap().role.as_str(), odd);
}

#[test]
fn aws_rules_are_checked_locally() {
    let err = |fields: &str| {
        Hop::parse(&format!("{ROLE},{fields}"))
            .unwrap_err()
            .to_string()
    };
    assert!(err("duration_seconds=7200").contains("role chaining"));
    assert!(err("duration_seconds=899").contains("900 to 3600"));
    assert!(err("role_session_name=a b").contains("role_session_name"));
    assert!(err("external_id=x").contains("external_id is invalid"));
    assert!(err("external_id=has space").contains("external_id"));
    assert!(err("mfa_serial=short").contains("mfa_serial"));
    let code = err("mfa_serial=arn:aws:iam::111122223333:mfa/a,token_code=98765x");
    assert!(
        code.contains("token_code") && !code.contains("98765x"),
        "{code}"
    );
    assert!(err("token_code=123456").contains("needs mfa_serial"));
    assert!(err("external_id=ab,external_id=cd").contains("twice"));
    let arn = Hop::parse("arn:aws:iam::1:role/x").unwrap_err().to_string();
    assert!(arn.contains("--assume-role"), "{arn}");
}

#[test]
fn the_body_is_form_encoded_with_the_mfa_pair() {
    let hop = Hop::parse(&format!("{ROLE},external_id=a/b+c,mfa_serial=GAHT12345678")).unwrap();
    let previous = Credentials {
        access_key_id: "ASIAX".into(),
        secret_access_key: Zeroizing::new("s".into()),
        session_token: Zeroizing::new("t".into()),
        expiration: String::new(),
    };
    let endpoint = crate::net::endpoint::resolve_sts(
        "us-east-1",
        &crate::net::endpoint::EndpointConfig::default(),
    )
    .unwrap();
    let client = reqwest::Client::new();
    let call = Call {
        hop: &hop,
        session_name: "s1",
        code: Some("123456"),
        previous: &previous,
        endpoint: &endpoint,
        client: &client,
        timeout: Duration::from_secs(1),
    };
    assert_eq!(
        *call.body(),
        "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A222233334444%3Arole%2Fdeploy\
         &RoleSessionName=s1&ExternalId=a%2Fb%2Bc&SerialNumber=GAHT12345678&TokenCode=123456"
    );
}

#[test]
fn xml_answers_are_read() {
    let ok = "<AssumeRoleResponse><AssumeRoleResult><Credentials>\
              <AccessKeyId>ASIAEXAMPLE</AccessKeyId><SecretAccessKey>a&amp;b</SecretAccessKey>\
              <SessionToken>t&#x2F;k</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration>\
              </Credentials></AssumeRoleResult></AssumeRoleResponse>";
    let c = parse_credentials(ok).unwrap();
    assert_eq!(
        (
            c.access_key_id.as_str(),
            c.secret_access_key.as_str(),
            c.session_token.as_str()
        ),
        ("ASIAEXAMPLE", "a&b", "t/k")
    );
    let err = "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>\
               <Message>User: x is not authorized &lt;here&gt;</Message></Error></ErrorResponse>";
    assert_eq!(xml_text(err, "Code").as_deref(), Some("AccessDenied"));
    assert_eq!(
        xml_text(err, "Message").as_deref(),
        Some("User: x is not authorized <here>")
    );
    assert!(parse_credentials("<html/>").is_none());
}

#[test]
fn hints_fit_the_refusal() {
    let hop = Hop::parse(&format!("{ROLE},external_id=abc")).unwrap();
    let endpoint = crate::net::endpoint::resolve_sts(
        "eu-south-2",
        &crate::net::endpoint::EndpointConfig::default(),
    )
    .unwrap();
    let hint = |status: u16, code: &str, message: &str| {
        let error = Error::Service {
            operation: Operation::AssumeRole,
            status,
            error_type: code.into(),
            message: message.into(),
            hint: None,
        };
        let e = with_hint(
            error,
            &hop,
            "arn:aws:iam::111122223333:role/ra",
            None,
            &endpoint,
            3,
        );
        e.hint().unwrap_or_default()
    };
    let denied = hint(
        403,
        "AccessDenied",
        "User: x is not authorized to perform: sts:AssumeRole",
    );
    assert!(
        denied.contains("arn:aws:iam::111122223333:role/ra"),
        "{denied}"
    );
    assert!(denied.contains("external ID"), "{denied}");
    let mfa = hint(
        403,
        "AccessDenied",
        "MultiFactorAuthentication failed with invalid MFA one time pass code.",
    );
    assert!(mfa.contains("used"), "{mfa}");
    let limit = hint(
        400,
        "ValidationError",
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
    );
    assert!(limit.contains("3600"), "{limit}");
    assert!(hint(403, "RegionDisabledException", "STS is not activated").contains("eu-south-2"));
    assert!(hint(403, "ExpiredToken", "expired").contains("clear-cache"));
    assert!(hint(400, "Throttling", "Rate exceeded").contains("3 attempts"));
}
