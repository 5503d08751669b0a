//! Microsoft's "Azure IP Ranges and Service Tags" files, for rules that need addresses
//! instead of service tags. Pure: parses bytes the CLI read.
//!
//! The file is scanned once for its tag names, each tag's `properties` kept as the raw
//! JSON text it borrows from the input; a tag's properties are parsed (its prefix strings
//! borrowed, no allocation per prefix) and its prefixes aggregated only when the plan asks
//! for that tag. A run expands a handful of the file's ~3,000 tags, so this keeps parsing
//! close to a bare scan of the JSON. A malformed `properties` is reported, located in the
//! file, when its tag is used. Tag names match case-insensitively, as Azure treats them.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::catalog::{Cloud, TagSource};

mod split;

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
    index: HashMap<Folded<'a>, usize>,
    /// The file's bytes: where a tag's raw properties sit, to locate their problems.
    bytes: &'a [u8],
}

#[derive(Deserialize)]
struct RawFile<'a> {
    #[serde(rename = "changeNumber")]
    change_number: u64,
    cloud: String,
    #[serde(borrow)]
    values: Tags<'a>,
}

/// Every tag of the file, borrowed from its bytes: names and raw `properties` in file
/// order. No per-tag allocation and no parse of the ~3,000 tags a run does not use.
#[derive(Debug, Default)]
struct Tags<'a> {
    names: Vec<&'a str>,
    properties: Vec<&'a RawValue>,
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
                while let Some((name, properties)) =
                    seq.next_element_seed(TagSeed::<'a>(std::marker::PhantomData))?
                {
                    tags.names.push(name);
                    tags.properties.push(properties);
                }
                Ok(tags)
            }
        }
        deserializer.deserialize_seq(TagList(std::marker::PhantomData))
    }
}

/// One entry of `values`: `{"name": ..., "properties": {...}, ...}`; gives the name and
/// the raw properties.
struct TagSeed<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> DeserializeSeed<'de> for TagSeed<'a> {
    type Value = (&'a str, &'a RawValue);
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for TagSeed<'a> {
    type Value = (&'a str, &'a RawValue);
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a service tag object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut name = None;
        let mut properties = None;
        while let Some(key) = map.next_key::<&'de str>()? {
            match key {
                "name" if name.is_some() => return Err(de::Error::duplicate_field("name")),
                "name" => name = Some(map.next_value::<&'de str>()?),
                "properties" if properties.is_some() => {
                    return Err(de::Error::duplicate_field("properties"));
                }
                "properties" => properties = Some(map.next_value::<&'de RawValue>()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let name = name.ok_or_else(|| de::Error::missing_field("name"))?;
        let properties = properties.ok_or_else(|| de::Error::missing_field("properties"))?;
        Ok((name, properties))
    }
}

/// A tag name that equals and hashes as its ASCII lowercase, without making it: the
/// index of a file's ~3,000 names then borrows them all, where a lowercase copy of each
/// was an allocation per name in every IP-mode run.
#[derive(Debug, Clone, Copy)]
struct Folded<'a>(&'a str);

impl PartialEq for Folded<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(other.0)
    }
}

impl Eq for Folded<'_> {}

impl std::hash::Hash for Folded<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // FNV-1a of the lowercase bytes, then one write: a hasher fed byte by byte is
        // slow, and equal names (any casing) give equal values, as `eq` needs.
        let folded = self
            .0
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
                (hash ^ u64::from(byte.to_ascii_lowercase())).wrapping_mul(0x0100_0000_01b3)
            });
        state.write_u64(folded);
    }
}

/// A tag's `properties`, parsed when the tag is used: its prefix strings, borrowed.
#[derive(Deserialize)]
struct Properties<'a> {
    #[serde(rename = "addressPrefixes", borrow)]
    address_prefixes: Vec<&'a str>,
}

/// The 1-based line and column of byte `offset` of `bytes`, counting columns in bytes as
/// serde_json does.
fn line_and_column(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |newline| newline + 1);
    (line, offset - line_start + 1)
}

/// A tag's addresses, aggregated to the fewest CIDR blocks, IPv4 and IPv6 apart. Held as
/// addresses, not text: a plan carries thousands, and only a renderer needs their text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Prefixes {
    /// IPv4 blocks, sorted.
    pub v4: Vec<Ipv4Net>,
    /// IPv6 blocks, sorted.
    pub v6: Vec<Ipv6Net>,
}

impl Prefixes {
    /// Every block, IPv4 first.
    pub fn all(&self) -> impl Iterator<Item = IpNet> + '_ {
        self.v4
            .iter()
            .copied()
            .map(IpNet::V4)
            .chain(self.v6.iter().copied().map(IpNet::V6))
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

/// The blocks as text, IPv4 first: the plan's JSON (`tag_addresses`).
impl serde::Serialize for Prefixes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.all().map(|net| net.to_string()))
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
        Self::parse_split(bytes, file, split::SPLIT_BYTES)
    }

    /// [`ServiceTagFile::parse`], on two threads from `split_bytes` of file on; a file
    /// the split parse does not take whole is parsed, and its problem reported, the
    /// plain way.
    fn parse_split(
        bytes: &'a [u8],
        file: &str,
        split_bytes: usize,
    ) -> Result<ServiceTagFile<'a>, ServiceTagError> {
        let raw: RawFile<'a> = match split::parse(bytes, split_bytes) {
            Some(raw) => raw,
            None => serde_json::from_slice(bytes)
                .map_err(|e| ServiceTagError::Invalid(e.to_string()))?,
        };
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
            .map(|(i, name)| (Folded(name), i))
            .collect();
        Ok(ServiceTagFile {
            file: file.to_owned(),
            cloud,
            change_number: raw.change_number,
            tags: raw.values,
            index,
            bytes,
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
        self.index.contains_key(&Folded(name))
    }

    /// The tag names in file order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tags.names.iter().copied()
    }

    /// The aggregated prefixes of a tag (any casing); `None` when the file has no such tag.
    pub fn expand(&self, name: &str) -> Option<Result<Prefixes, ServiceTagError>> {
        let tag = *self.index.get(&Folded(name))?;
        let raw = self.tags.properties[tag];
        let properties: Properties<'a> = match serde_json::from_str(raw.get()) {
            Ok(properties) => properties,
            Err(error) => return Some(Err(self.invalid_properties(tag, raw, &error))),
        };
        let mut v4 = Vec::with_capacity(properties.address_prefixes.len());
        let mut v6 = Vec::new();
        for text in &properties.address_prefixes {
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

impl ServiceTagFile<'_> {
    /// A problem of a tag's raw properties, located in the whole file as a problem found
    /// while parsing it would be: the raw text is a slice of the file's bytes.
    fn invalid_properties(
        &self,
        tag: usize,
        raw: &RawValue,
        error: &serde_json::Error,
    ) -> ServiceTagError {
        let offset = (raw.get().as_ptr() as usize).saturating_sub(self.bytes.as_ptr() as usize);
        let (line, column) = line_and_column(self.bytes, offset);
        let (line, column) = if error.line() <= 1 {
            (line, column + error.column().saturating_sub(1))
        } else {
            (line + error.line() - 1, error.column())
        };
        let message = error.to_string();
        // serde_json ends its message with the place it found the problem at.
        let cause = message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(cause, _)| cause);
        ServiceTagError::Invalid(format!(
            "{cause} at line {line} column {column} (the properties of `{}`)",
            self.tags.names[tag]
        ))
    }
}

/// A CIDR, or a bare address as a host prefix (the files hold CIDRs; be lenient).
fn parse_prefix(text: &str) -> Option<IpNet> {
    if let Some(net) = plain_prefix(text) {
        return Some(net);
    }
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

/// A prefix in the plain form the files write (`20.36.0.0/16`, `2603:1030::/47`: an IPv4
/// address of decimal octets without leading zeros, or an IPv6 address, and a length
/// without leading zeros), parsed with less work than ipnet's general parser, about
/// ten times as much per prefix, which a tag's thousands of prefixes added up to a tenth
/// of an IP-mode plan. `None` for any other text, which the general parser then reads:
/// the two agree on every text this one takes (tested).
fn plain_prefix(text: &str) -> Option<IpNet> {
    let bytes = text.as_bytes();
    let slash = bytes.iter().rposition(|&byte| byte == b'/')?;
    let length = u8::try_from(plain_decimal(&bytes[slash + 1..])?).ok()?;
    let address = &bytes[..slash];
    if address.contains(&b':') {
        let address: Ipv6Addr = text[..slash].parse().ok()?;
        return Ipv6Net::new(address, length)
            .ok()
            .map(|net| IpNet::V6(net.trunc()));
    }
    let mut octets = [0_u8; 4];
    let mut parts = address.split(|&byte| byte == b'.');
    for octet in &mut octets {
        *octet = u8::try_from(plain_decimal(parts.next()?)?).ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Ipv4Net::new(Ipv4Addr::from(octets), length)
        .ok()
        .map(|net| IpNet::V4(net.trunc()))
}

/// One to three decimal digits, without a leading zero (but `0` itself).
fn plain_decimal(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || bytes.len() > 3 || (bytes.len() > 1 && bytes[0] == b'0') {
        return None;
    }
    bytes.iter().try_fold(0_u32, |number, byte| {
        byte.is_ascii_digit()
            .then(|| number * 10 + u32::from(byte - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_prefixes_parse_as_the_general_parser_does() {
        let general = |text: &str| text.parse::<IpNet>().ok().map(|net| net.trunc());
        for text in [
            "20.36.0.0/16",
            "0.0.0.0/0",
            "255.255.255.255/32",
            "10.1.2.3/8",
            "2603:1030::/47",
            "2603:1030:1:2::/64",
            "::/0",
            "::ffff:1.2.3.4/128",
            "2603:1030::1/127",
        ] {
            assert_eq!(plain_prefix(text), general(text), "{text}");
            assert!(plain_prefix(text).is_some(), "{text}");
        }
        // Not plain: left to the general parser (some of these it refuses too).
        for text in [
            "256.0.0.0/8",
            "1.2.3.4/33",
            "01.2.3.4/8",
            "1.2.3.4/08",
            "1.2.3/8",
            "1.2.3.4.5/8",
            "1.2.3.4",
            "1.2.3.4/",
            "/8",
            "a.b.c.d/8",
            "1.2.3.4/+8",
            "2603:1030::/129",
            "2603:1030::",
            " 1.2.3.4/8",
        ] {
            assert_eq!(plain_prefix(text), None, "{text}");
        }
    }

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
            prefixes
                .all()
                .map(|net| net.to_string())
                .collect::<Vec<_>>(),
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
        // A tag's malformed properties are found when the tag is used, located in the file
        // (line 3, where its properties are, column as serde_json counts).
        for (from, to, says) in [
            (
                "\"addressPrefixes\"",
                "\"prefixes\"",
                "missing field `addressPrefixes` at line 3 column 132 (the properties of `Storage.EastUS2`)",
            ),
            (
                "\"10.0.0.128/25\"",
                "7",
                "invalid type: integer `7`, expected a borrowed string at line 3 column 45 (the properties of `Storage.EastUS2`)",
            ),
        ] {
            let text = SMALL.replace(from, to);
            let file = ServiceTagFile::parse(text.as_bytes(), "x").unwrap();
            match file.expand("storage.eastus2") {
                Some(Err(ServiceTagError::Invalid(message))) => {
                    assert_eq!(message, says, "{from}");
                }
                other => panic!("{from}: {other:?}"),
            }
        }
        // Malformed entries are refused with the place serde_json found them at.
        for (from, to, says) in [
            (
                "\"properties\"",
                "\"props\"",
                "missing field `properties` at line 3",
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
