//! Microsoft's "Azure IP Ranges and Service Tags" files, for rules that need addresses
//! instead of service tags. Pure: parses bytes the CLI read.
//!
//! The file is parsed once, borrowing the prefix strings from the input (no allocation per
//! prefix); a tag's prefixes are only parsed and aggregated when the plan asks for it.
//! Tag names match case-insensitively, as Azure treats them.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::Deserialize;

use crate::catalog::{Cloud, TagSource};

/// A parsed service tag file.
#[derive(Debug)]
pub struct ServiceTagFile<'a> {
    /// The file name, for messages and headers.
    pub file: String,
    /// The file's cloud.
    pub cloud: Cloud,
    /// The file's `changeNumber`.
    pub change_number: u64,
    tags: Vec<RawTag<'a>>,
    index: HashMap<String, usize>,
}

#[derive(Deserialize)]
struct RawFile<'a> {
    #[serde(rename = "changeNumber")]
    change_number: u64,
    cloud: String,
    #[serde(borrow)]
    values: Vec<RawTag<'a>>,
}

#[derive(Debug, Deserialize)]
struct RawTag<'a> {
    #[serde(borrow)]
    name: &'a str,
    #[serde(borrow)]
    properties: RawProperties<'a>,
}

#[derive(Debug, Deserialize)]
struct RawProperties<'a> {
    #[serde(rename = "addressPrefixes", borrow)]
    address_prefixes: Vec<&'a str>,
}

/// A tag's addresses, aggregated to the fewest CIDR blocks, IPv4 and IPv6 apart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prefixes {
    /// IPv4 blocks, sorted.
    pub v4: Vec<Ipv4Net>,
    /// IPv6 blocks, sorted.
    pub v6: Vec<Ipv6Net>,
}

impl Prefixes {
    /// Every block as text, IPv4 first.
    #[must_use]
    pub fn all(&self) -> Vec<String> {
        self.v4
            .iter()
            .map(ToString::to_string)
            .chain(self.v6.iter().map(ToString::to_string))
            .collect()
    }

    /// Adds another tag's blocks and re-aggregates.
    pub fn merge(&mut self, other: &Prefixes) {
        self.v4.extend(&other.v4);
        self.v6.extend(&other.v6);
        self.v4 = Ipv4Net::aggregate(&self.v4);
        self.v6 = Ipv6Net::aggregate(&self.v6);
    }

    /// How many blocks.
    #[must_use]
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// True when there is no block.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why a file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceTagError {
    /// Not JSON of the expected shape; the message says where.
    Invalid(String),
    /// The `cloud` field is not one amlfw knows.
    UnknownCloud(String),
    /// A prefix in the tag is not a CIDR.
    BadPrefix {
        /// The tag.
        tag: String,
        /// The prefix.
        prefix: String,
    },
}

impl<'a> ServiceTagFile<'a> {
    /// Parses a service tag file. `file` names it in messages.
    pub fn parse(bytes: &'a [u8], file: &str) -> Result<ServiceTagFile<'a>, ServiceTagError> {
        let raw: RawFile<'a> =
            serde_json::from_slice(bytes).map_err(|e| ServiceTagError::Invalid(e.to_string()))?;
        let cloud = match raw.cloud.as_str() {
            "Public" => Cloud::Public,
            "AzureGovernment" => Cloud::Usgov,
            "China" => Cloud::China,
            other => return Err(ServiceTagError::UnknownCloud(other.to_owned())),
        };
        let index = raw
            .values
            .iter()
            .enumerate()
            .map(|(i, tag)| (tag.name.to_ascii_lowercase(), i))
            .collect();
        Ok(ServiceTagFile {
            file: file.to_owned(),
            cloud,
            change_number: raw.change_number,
            tags: raw.values,
            index,
        })
    }

    /// The source record the plan and headers show.
    #[must_use]
    pub fn source(&self) -> TagSource {
        TagSource {
            file: self.file.clone(),
            change_number: self.change_number,
        }
    }

    /// Whether the file has the tag (any casing).
    #[must_use]
    pub fn contains(&self, name: &str) -> bool {
        self.index.contains_key(&name.to_ascii_lowercase())
    }

    /// The tag names in file order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tags.iter().map(|tag| tag.name)
    }

    /// The aggregated prefixes of a tag (any casing); `None` when the file has no such tag.
    pub fn expand(&self, name: &str) -> Option<Result<Prefixes, ServiceTagError>> {
        let tag = &self.tags[*self.index.get(&name.to_ascii_lowercase())?];
        let mut v4 = Vec::with_capacity(tag.properties.address_prefixes.len());
        let mut v6 = Vec::new();
        for text in &tag.properties.address_prefixes {
            match parse_prefix(text) {
                Some(IpNet::V4(net)) => v4.push(net),
                Some(IpNet::V6(net)) => v6.push(net),
                None => {
                    return Some(Err(ServiceTagError::BadPrefix {
                        tag: tag.name.to_owned(),
                        prefix: (*text).to_owned(),
                    }));
                }
            }
        }
        Some(Ok(Prefixes {
            v4: Ipv4Net::aggregate(&v4),
            v6: Ipv6Net::aggregate(&v6),
        }))
    }
}

/// A CIDR, or a bare address as a host prefix (the files hold CIDRs; be lenient).
fn parse_prefix(text: &str) -> Option<IpNet> {
    if let Ok(net) = text.parse::<IpNet>() {
        return Some(net.trunc());
    }
    if let Ok(address) = text.parse::<Ipv4Addr>() {
        return Ipv4Net::new(address, 32).ok().map(IpNet::V4);
    }
    text.parse::<Ipv6Addr>()
        .ok()
        .and_then(|address| Ipv6Net::new(address, 128).ok())
        .map(IpNet::V6)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"{"changeNumber": 7, "cloud": "Public", "values": [
        {"name": "Storage.EastUS2", "id": "Storage.EastUS2", "properties": {"changeNumber": 1, "region": "eastus2",
         "addressPrefixes": ["10.0.0.0/25", "10.0.0.128/25", "10.0.2.0/24", "2603:1030::/48", "2603:1030:1::/48"], "networkFeatures": null}}
    ]}"#;

    #[test]
    fn tags_match_any_casing_and_aggregate() {
        let file = ServiceTagFile::parse(SMALL.as_bytes(), "s.json").unwrap();
        assert_eq!((file.cloud, file.change_number), (Cloud::Public, 7));
        let prefixes = file.expand("storage.eastus2").unwrap().unwrap();
        assert_eq!(
            prefixes.all(),
            ["10.0.0.0/24", "10.0.2.0/24", "2603:1030::/47"]
        );
        assert!(file.expand("Storage.WestUS").is_none());
    }

    #[test]
    fn bad_files_are_reported() {
        assert!(matches!(
            ServiceTagFile::parse(b"{}", "x"),
            Err(ServiceTagError::Invalid(_))
        ));
        let other = SMALL.replace("\"Public\"", "\"Mars\"");
        assert!(matches!(
            ServiceTagFile::parse(other.as_bytes(), "x"),
            Err(ServiceTagError::UnknownCloud(_))
        ));
        let bad = SMALL.replace("10.0.2.0/24", "10.0.2.0/33");
        let file = ServiceTagFile::parse(bad.as_bytes(), "x").unwrap();
        assert!(matches!(
            file.expand("Storage.EastUS2"),
            Some(Err(ServiceTagError::BadPrefix { .. }))
        ));
    }
}
