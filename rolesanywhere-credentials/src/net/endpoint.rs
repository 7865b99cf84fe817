//! Which URL CreateSession goes to, resolved the way the official helper's AWS SDK does it.
//!
//! Order: `--endpoint`; then `AWS_ENDPOINT_URL_ROLESANYWHERE` and `AWS_ENDPOINT_URL`; then the
//! partition's host name for the region, with the FIPS variant when `AWS_USE_FIPS_ENDPOINT=true`
//! (or the region is written `fips-<region>` / `<region>-fips`) and the dual-stack variant when
//! `AWS_USE_DUALSTACK_ENDPOINT=true`.

use reqwest::Url;

use crate::error::{Error, Result};

/// What decides the endpoint, gathered from flags and the environment by the caller.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct EndpointConfig {
    /// `--endpoint`.
    pub endpoint: Option<String>,
    /// `AWS_ENDPOINT_URL_ROLESANYWHERE`, else `AWS_ENDPOINT_URL`.
    pub env_endpoint: Option<String>,
    /// `AWS_USE_FIPS_ENDPOINT=true`.
    pub fips: bool,
    /// `AWS_USE_DUALSTACK_ENDPOINT=true`.
    pub dual_stack: bool,
}

impl EndpointConfig {
    /// Reads the environment variables the AWS SDKs honour.
    pub fn from_env(endpoint: Option<String>) -> EndpointConfig {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let flag = |name: &str| var(name).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        EndpointConfig {
            endpoint: endpoint.filter(|e| !e.is_empty()),
            env_endpoint: var("AWS_ENDPOINT_URL_ROLESANYWHERE").or_else(|| var("AWS_ENDPOINT_URL")),
            fips: flag("AWS_USE_FIPS_ENDPOINT"),
            dual_stack: flag("AWS_USE_DUALSTACK_ENDPOINT"),
        }
    }

    /// The same for STS: `--sts-endpoint`, then `AWS_ENDPOINT_URL_STS` and `AWS_ENDPOINT_URL`.
    pub fn sts_from_env(endpoint: Option<String>) -> EndpointConfig {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        EndpointConfig {
            env_endpoint: var("AWS_ENDPOINT_URL_STS").or_else(|| var("AWS_ENDPOINT_URL")),
            ..EndpointConfig::from_env(endpoint)
        }
    }
}

/// A resolved endpoint: an http(s) URL with a host, parsed once, so that building a request
/// on it cannot fail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    url: Url,
    /// The region to sign for (a `fips-` prefix or `-fips` suffix removed).
    pub signing_region: String,
}

impl Endpoint {
    fn new(url: Url, signing_region: &str) -> Endpoint {
        Endpoint {
            url,
            signing_region: signing_region.to_string(),
        }
    }

    /// Base URL without a trailing slash, e.g. `https://rolesanywhere.us-east-1.amazonaws.com`.
    pub fn base_url(&self) -> &str {
        self.url.as_str().trim_end_matches('/')
    }

    /// The URL.
    pub(crate) fn url(&self) -> &Url {
        &self.url
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &str {
        self.url.scheme()
    }

    /// The `Host` header: the host, with the port when the URL names one.
    pub fn host_header(&self) -> String {
        // `resolve` only builds endpoints whose URL has a host.
        let host = self.url.host_str().unwrap_or_default();
        match self.url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    }

    /// `host:port`, the port spelled out even when it is the scheme's, for messages.
    pub fn host_port(&self) -> String {
        let host = self.url.host_str().unwrap_or_default();
        match self.url.port_or_known_default() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    }

    /// The endpoint's path with `suffix` appended, e.g. `/sessions`.
    pub fn path(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.url.path().trim_end_matches('/'))
    }
}

/// Resolves the endpoint for `region`.
///
/// # Errors
/// When an explicit endpoint is not an http(s) URL.
pub fn resolve(region: &str, config: &EndpointConfig) -> Result<Endpoint> {
    let (signing_region, fips_region) = strip_fips(region);
    if let Some(url) = config
        .endpoint
        .as_deref()
        .or(config.env_endpoint.as_deref())
    {
        return Ok(Endpoint::new(parse_url(url, "--endpoint")?, signing_region));
    }
    let fips = config.fips || fips_region;
    let host = host_for(signing_region, fips, config.dual_stack);
    Ok(Endpoint::new(
        parse_url(&host, "--endpoint")?,
        signing_region,
    ))
}

/// Resolves the STS endpoint for `region`, as the SDKs' regional STS endpoints: `--sts-endpoint`
/// or `AWS_ENDPOINT_URL_STS` / `AWS_ENDPOINT_URL` (in `config`), else
/// `sts.<region>.<partition suffix>`, `sts-fips.` for FIPS (GovCloud's regular endpoints are
/// already FIPS), `.api.aws` (and China's equivalent) for dual-stack.
///
/// # Errors
/// When an explicit endpoint is not an http(s) URL.
pub fn resolve_sts(region: &str, config: &EndpointConfig) -> Result<Endpoint> {
    let (signing_region, fips_region) = strip_fips(region);
    if let Some(url) = config
        .endpoint
        .as_deref()
        .or(config.env_endpoint.as_deref())
    {
        return Ok(Endpoint::new(
            parse_url(url, "--sts-endpoint")?,
            signing_region,
        ));
    }
    let fips = config.fips || fips_region;
    let host = sts_host_for(signing_region, fips, config.dual_stack);
    Ok(Endpoint::new(
        parse_url(&host, "--sts-endpoint")?,
        signing_region,
    ))
}

/// The STS host name for a region and variant.
pub fn sts_host_for(region: &str, fips: bool, dual_stack: bool) -> String {
    let partition = partition_of(region);
    let service = if fips && partition != Partition::UsGov {
        "sts-fips"
    } else {
        "sts"
    };
    format!("{service}.{region}.{}", suffix(partition, dual_stack))
}

/// The Roles Anywhere host name for a region and variant.
pub fn host_for(region: &str, fips: bool, dual_stack: bool) -> String {
    let service = if fips {
        "rolesanywhere-fips"
    } else {
        "rolesanywhere"
    };
    format!(
        "{service}.{region}.{}",
        suffix(partition_of(region), dual_stack)
    )
}

/// The partition's DNS suffix.
fn suffix(partition: Partition, dual_stack: bool) -> &'static str {
    match partition {
        Partition::Aws | Partition::UsGov if dual_stack => "api.aws",
        Partition::Aws | Partition::UsGov => "amazonaws.com",
        Partition::China if dual_stack => "api.amazonwebservices.com.cn",
        Partition::China => "amazonaws.com.cn",
        Partition::Iso => "c2s.ic.gov",
        Partition::IsoB => "sc2s.sgov.gov",
        Partition::IsoE => "cloud.adc-e.uk",
        Partition::IsoF => "csp.hci.ic.gov",
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Partition {
    Aws,
    China,
    UsGov,
    Iso,
    IsoB,
    IsoE,
    IsoF,
}

fn partition_of(region: &str) -> Partition {
    if region.starts_with("cn-") {
        Partition::China
    } else if region.starts_with("us-gov-") {
        Partition::UsGov
    } else if region.starts_with("us-isob-") {
        Partition::IsoB
    } else if region.starts_with("us-isof-") {
        Partition::IsoF
    } else if region.starts_with("us-iso-") {
        Partition::Iso
    } else if region.starts_with("eu-isoe-") {
        Partition::IsoE
    } else {
        // The SDK's default partition for regions it does not recognise.
        Partition::Aws
    }
}

/// `fips-us-east-1` and `us-east-1-fips` mean us-east-1 on its FIPS endpoint.
fn strip_fips(region: &str) -> (&str, bool) {
    if let Some(r) = region.strip_prefix("fips-") {
        (r, true)
    } else if let Some(r) = region.strip_suffix("-fips") {
        (r, true)
    } else {
        (region, false)
    }
}

fn parse_url(url: &str, flag: &str) -> Result<Url> {
    // A bare host name means HTTPS, as the SDKs assume for endpoint overrides without a scheme.
    let url = if url.contains("://") {
        url.to_string()
    } else {
        format!("https://{url}")
    };
    let parsed = Url::parse(&url).map_err(|e| {
        let service = if flag == "--sts-endpoint" { "sts" } else { "rolesanywhere" };
        Error::Usage(format!(
            "{flag} '{url}' is not a valid URL: {e}; give one like https://{service}.us-east-1.amazonaws.com"
        ))
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(Error::Usage(format!(
            "{flag} '{url}' must be an http:// or https:// URL with a host"
        )));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(region: &str, config: EndpointConfig) -> (String, String) {
        let e = resolve(region, &config).unwrap();
        (e.base_url().to_string(), e.signing_region)
    }

    #[test]
    fn resolves_every_partition() {
        for (region, host) in [
            ("us-east-1", "rolesanywhere.us-east-1.amazonaws.com"),
            ("eu-central-2", "rolesanywhere.eu-central-2.amazonaws.com"),
            ("cn-north-1", "rolesanywhere.cn-north-1.amazonaws.com.cn"),
            ("us-gov-west-1", "rolesanywhere.us-gov-west-1.amazonaws.com"),
            ("us-iso-east-1", "rolesanywhere.us-iso-east-1.c2s.ic.gov"),
            (
                "us-isob-east-1",
                "rolesanywhere.us-isob-east-1.sc2s.sgov.gov",
            ),
            (
                "eu-isoe-west-1",
                "rolesanywhere.eu-isoe-west-1.cloud.adc-e.uk",
            ),
            (
                "us-isof-south-1",
                "rolesanywhere.us-isof-south-1.csp.hci.ic.gov",
            ),
        ] {
            assert_eq!(
                url(region, EndpointConfig::default()).0,
                format!("https://{host}")
            );
        }
    }

    #[test]
    fn fips_and_dual_stack_variants() {
        let fips = EndpointConfig {
            fips: true,
            ..Default::default()
        };
        assert_eq!(
            url("us-gov-east-1", fips.clone()).0,
            "https://rolesanywhere-fips.us-gov-east-1.amazonaws.com"
        );
        assert_eq!(
            url("cn-northwest-1", fips).0,
            "https://rolesanywhere-fips.cn-northwest-1.amazonaws.com.cn"
        );
        assert_eq!(
            url("fips-us-west-2", EndpointConfig::default()),
            (
                "https://rolesanywhere-fips.us-west-2.amazonaws.com".into(),
                "us-west-2".into()
            )
        );
        assert_eq!(
            url("us-east-2-fips", EndpointConfig::default()).1,
            "us-east-2"
        );
        let both = EndpointConfig {
            fips: true,
            dual_stack: true,
            ..Default::default()
        };
        assert_eq!(
            url("us-east-1", both).0,
            "https://rolesanywhere-fips.us-east-1.api.aws"
        );
    }

    #[test]
    fn sts_endpoints_per_partition_and_variant() {
        let host = |region: &str, fips: bool, dual: bool| {
            let config = EndpointConfig {
                fips,
                dual_stack: dual,
                ..Default::default()
            };
            resolve_sts(region, &config).unwrap().base_url().to_string()
        };
        assert_eq!(
            host("eu-west-1", false, false),
            "https://sts.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            host("cn-north-1", false, false),
            "https://sts.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            host("us-east-2", true, false),
            "https://sts-fips.us-east-2.amazonaws.com"
        );
        assert_eq!(
            host("fips-us-west-2", false, false),
            "https://sts-fips.us-west-2.amazonaws.com"
        );
        assert_eq!(
            host("us-gov-west-1", true, false),
            "https://sts.us-gov-west-1.amazonaws.com"
        );
        assert_eq!(
            host("us-east-1", false, true),
            "https://sts.us-east-1.api.aws"
        );
        assert_eq!(
            host("us-east-1", true, true),
            "https://sts-fips.us-east-1.api.aws"
        );
        assert_eq!(
            host("us-iso-east-1", false, false),
            "https://sts.us-iso-east-1.c2s.ic.gov"
        );
        let explicit = EndpointConfig {
            endpoint: Some("http://127.0.0.1:1".into()),
            ..Default::default()
        };
        let e = resolve_sts("fips-us-east-1", &explicit).unwrap();
        assert_eq!(
            (e.base_url(), e.signing_region.as_str()),
            ("http://127.0.0.1:1", "us-east-1")
        );
        let bad = EndpointConfig {
            endpoint: Some("ftp://x".into()),
            ..Default::default()
        };
        assert!(resolve_sts("us-east-1", &bad)
            .unwrap_err()
            .to_string()
            .starts_with("--sts-endpoint"));
    }

    #[test]
    fn explicit_endpoints_win() {
        let config = EndpointConfig {
            endpoint: Some("https://127.0.0.1:8443/".into()),
            env_endpoint: Some("https://ignored".into()),
            ..Default::default()
        };
        assert_eq!(url("us-east-1", config).0, "https://127.0.0.1:8443");
        let env = EndpointConfig {
            env_endpoint: Some("localhost:9000".into()),
            ..Default::default()
        };
        assert_eq!(url("us-east-1", env).0, "https://localhost:9000");
        let bad = EndpointConfig {
            endpoint: Some("ftp://x".into()),
            ..Default::default()
        };
        assert!(resolve("us-east-1", &bad).is_err());
    }
}
