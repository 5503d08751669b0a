//! Microsoft's "Azure IP Ranges and Service Tags" files, for rules that need addresses
//! instead of service tags. Pure: parses bytes the CLI read.
//!
//! The file is parsed once, borrowing the prefix strings from the input (no allocation per
//! prefix); a tag's prefixes are only parsed and aggregated when the plan asks for it.
//! Tag names match case-insensitively, as Azure treats them.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

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
    tags: Tags<'a>,
    index: HashMap<String, usize>,
}

#[derive(Deserialize)]
struct RawFile<'a> {
    #[serde(rename = "changeNumber")]
    change_number: u64,
    cloud: String,
    #[serde(borrow)]
    values: Tags<'a>,
}

/// Every tag of the file, borrowed from its bytes: names in file order, and the prefix
/// strings of all tags in one list, each tag owning a range of it. One list instead of one
/// per tag: a file has about 3,000 tags and a run expands a handful, so the per-tag
/// allocations were most of what parsing cost above a bare scan of the JSON.
#[derive(Debug, Default)]
struct Tags<'a> {
    names: Vec<&'a str>,
    /// `prefixes[ranges[i].0..ranges[i].1]` are the prefixes of `names[i]`.
    ranges: Vec<(usize, usize)>,
    prefixes: Vec<&'a str>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Tags<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TagList<'a>(std::marker::PhantomData<Tags<'a>>);
        impl<'de: 'a, 'a> Visitor<'de> for TagList<'a> {
            type Value = Tags<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of service tags")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tags<'a>, A::Error> {
                let mut tags = Tags::default();
                while let Some(name) = seq.next_element_seed(TagSeed(&mut tags.prefixes))? {
                    tags.names.push(name.0);
                    tags.ranges.push(name.1);
                }
                Ok(tags)
            }
        }
        deserializer.deserialize_seq(TagList(std::marker::PhantomData))
    }
}

/// One entry of `values`: `{"name": ..., "properties": {"addressPrefixes": [...], ...},
/// ...}`, its prefixes appended to the shared list; gives the name and the range.
struct TagSeed<'l, 'a>(&'l mut Vec<&'a str>);

impl<'de: 'a, 'a> DeserializeSeed<'de> for TagSeed<'_, 'a> {
    type Value = (&'a str, (usize, usize));
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for TagSeed<'_, 'a> {
    type Value = (&'a str, (usize, usize));
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a service tag object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut name = None;
        let mut range = None;
        while let Some(key) = map.next_key::<&'de str>()? {
            match key {
                "name" if name.is_some() => return Err(de::Error::duplicate_field("name")),
                "name" => name = Some(map.next_value::<&'de str>()?),
                "properties" if range.is_some() => {
                    return Err(de::Error::duplicate_field("properties"));
                }
                "properties" => range = Some(map.next_value_seed(PropertiesSeed(&mut *self.0))?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let name = name.ok_or_else(|| de::Error::missing_field("name"))?;
        let range = range.ok_or_else(|| de::Error::missing_field("properties"))?;
        Ok((name, range))
    }
}

/// A tag's `properties`: appends `addressPrefixes` to the shared list, skips the rest.
struct PropertiesSeed<'l, 'a>(&'l mut Vec<&'a str>);

impl<'de: 'a, 'a> DeserializeSeed<'de> for PropertiesSeed<'_, 'a> {
    type Value = (usize, usize);
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for PropertiesSeed<'_, 'a> {
    type Value = (usize, usize);
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a service tag's properties object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut range = None;
        while let Some(key) = map.next_key::<&'de str>()? {
            if key != "addressPrefixes" {
                map.next_value::<IgnoredAny>()?;
            } else if range.is_some() {
                return Err(de::Error::duplicate_field("addressPrefixes"));
            } else {
                let start = self.0.len();
                map.next_value_seed(PrefixesSeed(&mut *self.0))?;
                range = Some((start, self.0.len()));
            }
        }
        range.ok_or_else(|| de::Error::missing_field("addressPrefixes"))
    }
}

/// `addressPrefixes`: a list of strings, appended to the shared list.
struct PrefixesSeed<'l, 'a>(&'l mut Vec<&'a str>);

impl<'de: 'a, 'a> DeserializeSeed<'de> for PrefixesSeed<'_, 'a> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for PrefixesSeed<'_, 'a> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of address prefixes")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(prefix) = seq.next_element::<&'de str>()? {
            self.0.push(prefix);
        }
        Ok(())
    }
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
            .names
            .iter()
            .enumerate()
            .map(|(i, name)| (name.to_ascii_lowercase(), i))
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
        self.tags.names.iter().copied()
    }

    /// The aggregated prefixes of a tag (any casing); `None` when the file has no such tag.
    pub fn expand(&self, name: &str) -> Option<Result<Prefixes, ServiceTagError>> {
        let tag = *self.index.get(&name.to_ascii_lowercase())?;
        let (start, end) = self.tags.ranges[tag];
        let mut v4 = Vec::with_capacity(end - start);
        let mut v6 = Vec::new();
        for text in &self.tags.prefixes[start..end] {
            match parse_prefix(text) {
                Some(IpNet::V4(net)) => v4.push(net),
                Some(IpNet::V6(net)) => v6.push(net),
                None => {
                    return Some(Err(ServiceTagError::BadPrefix {
                        tag: self.tags.names[tag].to_owned(),
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
        // Malformed entries are refused with the place serde_json found them at.
        for (from, to, says) in [
            (
                "\"properties\"",
                "\"props\"",
                "missing field `properties` at line 3",
            ),
            (
                "\"addressPrefixes\"",
                "\"prefixes\"",
                "missing field `addressPrefixes` at line 3",
            ),
            (
                "\"10.0.0.128/25\"",
                "7",
                "invalid type: integer `7`, expected a borrowed string at line 3",
            ),
            (
                "\"id\": \"Storage.EastUS2\"",
                "\"name\": \"x\"",
                "duplicate field `name` at line 2",
            ),
            (
                "\"values\": [",
                "\"values\": [[], ",
                "invalid type: sequence, expected a service tag object at line 1",
            ),
        ] {
            let text = SMALL.replace(from, to);
            match ServiceTagFile::parse(text.as_bytes(), "x") {
                Err(ServiceTagError::Invalid(message)) => {
                    assert!(message.starts_with(says), "{from}: {message}");
                }
                other => panic!("{from}: {other:?}"),
            }
        }
        let bad = SMALL.replace("10.0.2.0/24", "10.0.2.0/33");
        let file = ServiceTagFile::parse(bad.as_bytes(), "x").unwrap();
        assert!(matches!(
            file.expand("Storage.EastUS2"),
            Some(Err(ServiceTagError::BadPrefix { .. }))
        ));
    }
}
