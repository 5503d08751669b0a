//! How Azure evaluates the parts of a rule, as the audit compares them: ports and port
//! ranges, protocols, service tags (any casing; a global tag holds its regional tags), host
//! names and their wildcards, address prefixes and, with a service tag file, the prefixes
//! behind a tag. Every question is "does the deployed part cover the planned one" or "do
//! they overlap"; the report builds its statuses from these answers.

use std::cell::RefCell;
use std::collections::HashMap;

use ipnet::{IpNet, Ipv4Net};

use super::{Address, Transport};
use crate::catalog::{Catalog, Cloud};
use crate::service_tags::ServiceTagFile;

/// What a written service tag is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagInfo {
    /// A tag Azure accepts.
    Known {
        /// Microsoft's spelling (`Storage.EastUS2`).
        canonical: String,
        /// The global tag it belongs to (`Storage`); itself for a global tag.
        base: String,
        /// True for a regional tag.
        regional: bool,
        /// Where the global tag can be used (`NSG`, `UDR`, `FW`, ...), when known.
        features: Option<Vec<String>>,
        /// An NSG default tag (`VirtualNetwork`, `Internet`, `AzureLoadBalancer`), which
        /// Azure Firewall cannot name.
        nsg_only: bool,
    },
    /// Not a service tag: the reason, with the tag amlfw guesses was meant.
    Invalid(String),
    /// A name amlfw cannot check without Microsoft's file (`--service-tags`).
    Unknown,
}

/// Service tag knowledge: the catalog's tags of the plan's cloud, and Microsoft's whole
/// list when the user gave the file.
pub struct Tags<'a> {
    catalog: &'a Catalog,
    cloud: Cloud,
    file: Option<&'a ServiceTagFile<'a>>,
    /// The file's tag names by lowercase name.
    file_names: HashMap<String, &'a str>,
    /// IPv4 prefixes of tags already expanded, by canonical name.
    prefixes: RefCell<HashMap<String, Option<Vec<Ipv4Net>>>>,
}

impl<'a> Tags<'a> {
    /// The tags of `cloud`, plus the file's.
    #[must_use]
    pub fn new(catalog: &'a Catalog, cloud: Cloud, file: Option<&'a ServiceTagFile<'a>>) -> Self {
        let file_names = file
            .map(|file| {
                file.names()
                    .map(|name| (name.to_ascii_lowercase(), name))
                    .collect()
            })
            .unwrap_or_default();
        Tags {
            catalog,
            cloud,
            file,
            file_names,
            prefixes: RefCell::new(HashMap::new()),
        }
    }

    /// The catalog's global tag of this spelling (any casing), with its features.
    fn catalog_base(&self, name: &str) -> Option<(&'a str, &'a crate::catalog::TagInCloud)> {
        self.catalog
            .service_tags
            .iter()
            .filter_map(|(base, clouds)| clouds.get(&self.cloud).map(|tag| (base.as_str(), tag)))
            .find(|(base, _)| base.eq_ignore_ascii_case(name))
    }

    /// Resolves a written tag: Microsoft's spelling, its global tag, whether it is regional.
    #[must_use]
    pub fn info(&self, written: &str) -> TagInfo {
        if let Some(base) = self.catalog_base(written) {
            return TagInfo::Known {
                canonical: base.0.to_owned(),
                base: base.0.to_owned(),
                regional: false,
                features: Some(base.1.features.clone()),
                nsg_only: base.1.default,
            };
        }
        if let Some((base_text, suffix)) = written.rsplit_once('.')
            && let Some((base, tag)) = self.catalog_base(base_text)
        {
            let region = tag
                .regional
                .iter()
                .flat_map(|group| &group.regions)
                .find(|region| region.eq_ignore_ascii_case(suffix));
            return match region {
                Some(region) => TagInfo::Known {
                    canonical: format!("{base}.{region}"),
                    base: base.to_owned(),
                    regional: true,
                    features: Some(tag.features.clone()),
                    nsg_only: tag.default,
                },
                None if self.file.is_none() => TagInfo::Invalid(format!(
                    "`{written}` is not a service tag: `{base}` has no regional tag `{suffix}`"
                )),
                None => self.file_info(written),
            };
        }
        if self.file.is_some() {
            return self.file_info(written);
        }
        match self.near_miss(written) {
            Some(meant) => TagInfo::Invalid(format!(
                "`{written}` is not a service tag (did you mean `{meant}`?)"
            )),
            None => TagInfo::Unknown,
        }
    }

    /// A tag known only from Microsoft's file.
    fn file_info(&self, written: &str) -> TagInfo {
        let file = self.file.map_or("", |file| file.file.as_str());
        match self.file_names.get(&written.to_ascii_lowercase()) {
            Some(canonical) => {
                let (base, regional) = match canonical.rsplit_once('.') {
                    Some((base, _)) if self.file_names.contains_key(&base.to_ascii_lowercase()) => {
                        (base.to_owned(), true)
                    }
                    _ => ((*canonical).to_owned(), false),
                };
                TagInfo::Known {
                    canonical: (*canonical).to_owned(),
                    base,
                    regional,
                    features: None,
                    nsg_only: false,
                }
            }
            None => {
                let meant = self
                    .near_miss(written)
                    .map(|meant| format!(" (did you mean `{meant}`?)"))
                    .unwrap_or_default();
                TagInfo::Invalid(format!("`{written}` is not a service tag in {file}{meant}"))
            }
        }
    }

    /// The catalog tag a misspelling most likely meant: the same name without Azure's
    /// `Azure` prefix (`ContainerRegistry.eastus` for `AzureContainerRegistry.EastUS`,
    /// `Keyvault` for `AzureKeyVault`), any casing.
    fn near_miss(&self, written: &str) -> Option<String> {
        let (base_text, suffix) = match written.rsplit_once('.') {
            Some((base, suffix)) if self.catalog_base(written).is_none() => (base, Some(suffix)),
            _ => (written, None),
        };
        let stripped = |name: &str| {
            let lower = name.to_ascii_lowercase();
            lower
                .strip_prefix("azure")
                .map_or(lower.clone(), str::to_owned)
        };
        let wanted = stripped(base_text);
        let whole = stripped(written);
        for (base, clouds) in &self.catalog.service_tags {
            let Some(tag) = clouds.get(&self.cloud) else {
                continue;
            };
            if stripped(base) == whole {
                return Some(base.clone());
            }
            if stripped(base) == wanted {
                let region = suffix.and_then(|suffix| {
                    tag.regional
                        .iter()
                        .flat_map(|group| &group.regions)
                        .find(|region| region.eq_ignore_ascii_case(suffix))
                });
                return Some(match (region, suffix) {
                    (Some(region), _) => format!("{base}.{region}"),
                    (None, Some(suffix)) => format!("{base}.{suffix}"),
                    (None, None) => base.clone(),
                });
            }
        }
        None
    }

    /// The canonical spelling when the tag is known, else the written one.
    #[must_use]
    pub fn canonical(&self, written: &str) -> String {
        match self.info(written) {
            TagInfo::Known { canonical, .. } => canonical,
            _ => written.to_owned(),
        }
    }

    /// The tag's IPv4 prefixes, aggregated, from Microsoft's file (none without it).
    fn tag_prefixes(&self, canonical: &str) -> Option<Vec<Ipv4Net>> {
        let file = self.file?;
        if let Some(known) = self.prefixes.borrow().get(canonical) {
            return known.clone();
        }
        let expanded = file
            .expand(canonical)
            .and_then(Result::ok)
            .map(|prefixes| prefixes.v4);
        self.prefixes
            .borrow_mut()
            .insert(canonical.to_owned(), expanded.clone());
        expanded
    }
}

/// How a deployed part relates to a planned one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cover {
    /// It holds the planned one and nothing the plan does not ask for in its place.
    Exact,
    /// It holds the planned one and more; the text says what more.
    Broader(String),
    /// It does not hold it.
    No,
}

/// A host pattern as Azure Firewall matches it: an exact name, or `*` followed by a
/// suffix that the name must end with (`*.anaconda.com` needs a label before
/// `.anaconda.com`, so it does not match `anaconda.com`; `*pytorch.org` matches
/// `pytorch.org` and `evilpytorch.org` alike; `*` matches every name). Case-insensitive.
fn host_pattern(text: &str) -> (bool, String) {
    let lower = text.trim_end_matches('.').to_ascii_lowercase();
    match lower.strip_prefix('*') {
        Some(suffix) => (true, suffix.to_owned()),
        None => (false, lower),
    }
}

/// Whether the deployed host pattern matches every name the planned one matches. A name
/// never starts with a dot, so ending with `.x` needs a label before `.x`.
#[must_use]
pub fn host_covers(deployed: &str, planned: &str) -> bool {
    let (d_wild, d) = host_pattern(deployed);
    let (p_wild, p) = host_pattern(planned);
    match (d_wild, p_wild) {
        (false, false) => d == p,
        (false, true) => false,
        (true, _) => p.ends_with(&d),
    }
}

/// Whether two host patterns match at least one common name.
#[must_use]
pub fn host_overlaps(a: &str, b: &str) -> bool {
    host_covers(a, b) || host_covers(b, a)
}

/// A CIDR, or a bare address as a host prefix.
#[must_use]
pub fn parse_cidr(text: &str) -> Option<IpNet> {
    let text = text.trim();
    if let Ok(net) = text.parse::<IpNet>() {
        return Some(net.trunc());
    }
    text.parse::<std::net::IpAddr>().ok().map(IpNet::from)
}

/// Whether `net` is the whole address space of its family (`0.0.0.0/0`, `::/0`).
fn is_everything(net: &IpNet) -> bool {
    net.prefix_len() == 0
}

/// Private ranges (RFC 1918 and shared address space): where a virtual network's prefixes
/// are, so the `VirtualNetwork` tag holds a compute subnet written as a prefix.
fn is_private(net: &IpNet) -> bool {
    match net {
        IpNet::V4(net) => [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "100.64.0.0/10",
        ]
        .iter()
        .filter_map(|text| text.parse::<Ipv4Net>().ok())
        .any(|private| private.contains(net)),
        IpNet::V6(net) => net.addr().segments()[0] & 0xfe00 == 0xfc00,
    }
}

/// Whether some deployed address of the list (prefixes united) covers the planned
/// address, and whether only by being broader.
#[must_use]
pub fn addresses_cover(tags: &Tags<'_>, deployed: &[Address], planned: &Address) -> Cover {
    let mut best = Cover::No;
    for address in deployed {
        match address_covers(tags, address, planned) {
            Cover::Exact => return Cover::Exact,
            Cover::Broader(why) if best == Cover::No => best = Cover::Broader(why),
            _ => {}
        }
    }
    if best != Cover::No {
        return best;
    }
    // Prefixes together: a tag's prefixes (from the file) or a planned prefix inside the
    // union of the deployed ones.
    let nets: Vec<Ipv4Net> = deployed
        .iter()
        .filter_map(|address| match address {
            Address::Cidr(IpNet::V4(net)) => Some(*net),
            _ => None,
        })
        .collect();
    if nets.is_empty() {
        return Cover::No;
    }
    let union = Ipv4Net::aggregate(&nets);
    let inside = |net: &Ipv4Net| union.iter().any(|block| block.contains(net));
    match planned {
        Address::Cidr(IpNet::V4(net)) if inside(net) => Cover::Exact,
        Address::Tag(tag) => match tags.tag_prefixes(&tags.canonical(tag)) {
            Some(prefixes) if !prefixes.is_empty() && prefixes.iter().all(inside) => Cover::Exact,
            _ => Cover::No,
        },
        _ => Cover::No,
    }
}

/// Whether one deployed address covers one planned address.
#[must_use]
pub fn address_covers(tags: &Tags<'_>, deployed: &Address, planned: &Address) -> Cover {
    match (deployed, planned) {
        (Address::Any, Address::Any) => Cover::Exact,
        (Address::Any, _) => Cover::Broader("`*` destinations".to_owned()),
        (Address::Cidr(d), Address::Cidr(p)) if d == p => Cover::Exact,
        (Address::Cidr(d), Address::Cidr(p)) if is_everything(d) && d.contains(p) => {
            Cover::Broader(format!("`{d}` (every address)"))
        }
        (Address::Cidr(d), Address::Cidr(p)) if d.contains(p) => {
            Cover::Broader(format!("`{d}` wider than `{p}`"))
        }
        (Address::Cidr(d), Address::Tag(tag)) => {
            let canonical = tags.canonical(tag);
            match (d, tags.tag_prefixes(&canonical)) {
                (IpNet::V4(d), Some(prefixes))
                    if !prefixes.is_empty() && prefixes.iter().all(|p| d.contains(p)) =>
                {
                    Cover::Exact
                }
                _ => Cover::No,
            }
        }
        (Address::Tag(d), Address::Tag(p)) => tag_covers(tags, d, p),
        (Address::Tag(d), Address::Cidr(p)) => {
            if tags.canonical(d) == "VirtualNetwork" && is_private(p) {
                Cover::Broader(format!("`VirtualNetwork` wider than `{p}`"))
            } else {
                match tags.tag_prefixes(&tags.canonical(d)) {
                    Some(prefixes) if p.prefix_len() > 0 => match p {
                        IpNet::V4(p) if prefixes.iter().any(|block| block.contains(p)) => {
                            Cover::Exact
                        }
                        _ => Cover::No,
                    },
                    _ => Cover::No,
                }
            }
        }
        (Address::Fqdn(d), Address::Fqdn(p) | Address::Url(p)) => {
            let host = p.split('/').next().unwrap_or(p);
            if !host_covers(d, host) {
                Cover::No
            } else if d.trim() == "*" && host != "*" {
                Cover::Broader("`*` destinations".to_owned())
            } else if host_covers(host, d) {
                Cover::Exact
            } else {
                Cover::Broader(format!("`{d}` matches more names than `{host}`"))
            }
        }
        (Address::Url(d), Address::Url(p)) if d.eq_ignore_ascii_case(p) => Cover::Exact,
        (Address::FqdnTag(d), Address::FqdnTag(p)) if d.eq_ignore_ascii_case(p) => Cover::Exact,
        _ => Cover::No,
    }
}

/// Whether the deployed tag covers the planned tag: the same tag (any casing), or its
/// global tag (broader: every region instead of one).
#[must_use]
pub fn tag_covers(tags: &Tags<'_>, deployed: &str, planned: &str) -> Cover {
    let (
        TagInfo::Known {
            canonical: d,
            regional: d_regional,
            ..
        },
        TagInfo::Known {
            canonical: p,
            base: p_base,
            regional: p_regional,
            ..
        },
    ) = (tags.info(deployed), tags.info(planned))
    else {
        return if deployed.eq_ignore_ascii_case(planned) {
            Cover::Exact
        } else {
            Cover::No
        };
    };
    if d == p {
        Cover::Exact
    } else if !d_regional && p_regional && d == p_base {
        Cover::Broader(format!("the global tag `{d}` instead of `{p}`"))
    } else {
        Cover::No
    }
}

/// Whether two addresses share at least one address or name.
#[must_use]
pub fn addresses_overlap(tags: &Tags<'_>, a: &Address, b: &Address) -> bool {
    if address_covers(tags, a, b) != Cover::No || address_covers(tags, b, a) != Cover::No {
        return true;
    }
    match (a, b) {
        (Address::Fqdn(x), Address::Fqdn(y)) => host_overlaps(x, y),
        (Address::Cidr(IpNet::V4(net)), Address::Tag(tag))
        | (Address::Tag(tag), Address::Cidr(IpNet::V4(net))) => tags
            .tag_prefixes(&tags.canonical(tag))
            .is_some_and(|prefixes| {
                prefixes
                    .iter()
                    .any(|block| block.contains(net) || net.contains(block))
            }),
        (Address::Tag(x), Address::Tag(y)) => {
            let (x, y) = (tags.info(x), tags.info(y));
            matches!((x, y), (TagInfo::Known { base: xb, .. }, TagInfo::Known { base: yb, regional: yr, canonical: yc, .. })
                if xb == yb && (yr || xb == yc))
        }
        _ => false,
    }
}

/// Whether the deployed protocol carries the planned one (`Any` carries every protocol).
#[must_use]
pub fn transport_covers(deployed: Transport, planned: Transport) -> bool {
    deployed == Transport::Any || deployed == planned
}

/// The port spans merged into disjoint, sorted spans.
#[must_use]
pub fn merge_spans(spans: &[(u16, u16)]) -> Vec<(u16, u16)> {
    let mut sorted = spans.to_vec();
    sorted.sort_unstable();
    let mut merged: Vec<(u16, u16)> = Vec::new();
    for (start, end) in sorted {
        match merged.last_mut() {
            Some(last) if u32::from(start) <= u32::from(last.1) + 1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

/// Whether the spans together hold every port of `span`.
#[must_use]
pub fn ports_cover(spans: &[(u16, u16)], span: (u16, u16)) -> bool {
    merge_spans(spans)
        .iter()
        .any(|(start, end)| *start <= span.0 && span.1 <= *end)
}

/// Whether the spans share a port with `span`.
#[must_use]
pub fn ports_overlap(spans: &[(u16, u16)], span: (u16, u16)) -> bool {
    spans
        .iter()
        .any(|(start, end)| *start <= span.1 && span.0 <= *end)
}

/// The ports of `spans` that `allowed` does not hold, as spans.
#[must_use]
pub fn ports_beyond(spans: &[(u16, u16)], allowed: &[(u16, u16)]) -> Vec<(u16, u16)> {
    let allowed = merge_spans(allowed);
    let mut out = Vec::new();
    for (start, end) in merge_spans(spans) {
        let mut next = u32::from(start);
        let end = u32::from(end);
        for (a_start, a_end) in &allowed {
            let (a_start, a_end) = (u32::from(*a_start), u32::from(*a_end));
            if a_end < next || a_start > end {
                continue;
            }
            if a_start > next {
                out.push((next, a_start - 1));
            }
            next = next.max(a_end + 1);
        }
        if next <= end {
            out.push((next, end));
        }
    }
    out.into_iter()
        .filter_map(|(s, e)| Some((u16::try_from(s).ok()?, u16::try_from(e).ok()?)))
        .collect()
}

/// Whether the spans leave no port of 1-65535 out.
#[must_use]
pub fn every_port(spans: &[(u16, u16)]) -> bool {
    ports_cover(spans, (1, u16::MAX))
}

/// Spans as Azure writes them: `443`, `8787-8788`, joined by commas.
#[must_use]
pub fn spans_text(spans: &[(u16, u16)]) -> String {
    spans
        .iter()
        .map(|(start, end)| {
            if start == end {
                start.to_string()
            } else {
                format!("{start}-{end}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses a port field: `443`, `29876-29877`, `*` (every port); `None` when it is not one.
#[must_use]
pub fn parse_ports(text: &str) -> Option<(u16, u16)> {
    let text = text.trim();
    if text == "*" || text.eq_ignore_ascii_case("any") {
        return Some((1, u16::MAX));
    }
    crate::catalog::PortRange::parse(text)
        .ok()
        .map(|range| (range.start, range.end))
}

/// Whether a deployed source list is "any source".
#[must_use]
pub fn is_any_source(address: &Address) -> bool {
    match address {
        Address::Any => true,
        Address::Cidr(net) => is_everything(net),
        Address::Tag(tag) => tag.eq_ignore_ascii_case("Internet"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags() -> Tags<'static> {
        let catalog: &'static Catalog = Box::leak(Box::new(Catalog::embedded()));
        Tags::new(catalog, Cloud::Public, None)
    }

    #[test]
    fn a_port_range_covers_its_ports_and_star_covers_every_port() {
        assert!(ports_cover(&[(29876, 29877)], (29877, 29877)));
        assert!(!ports_cover(&[(29876, 29877)], (29878, 29878)));
        assert!(ports_cover(&[(80, 80), (81, 100)], (80, 90)));
        assert!(!ports_cover(&[(443, 443)], (8787, 8787)));
        assert!(every_port(&[parse_ports("*").unwrap()]));
        assert!(!every_port(&[(1, 65534)]));
        assert_eq!(
            ports_beyond(&[(1, 65535)], &[(443, 443)]),
            [(1, 442), (444, 65535)]
        );
        assert_eq!(
            ports_beyond(&[(80, 80), (443, 443)], &[(443, 443)]),
            [(80, 80)]
        );
        assert!(ports_beyond(&[(443, 443)], &[(80, 443)]).is_empty());
        assert_eq!(parse_ports("0"), None);
    }

    #[test]
    fn any_covers_tcp_and_udp_but_tcp_does_not_cover_udp() {
        assert!(transport_covers(Transport::Any, Transport::Tcp));
        assert!(transport_covers(Transport::Any, Transport::Udp));
        assert!(!transport_covers(Transport::Tcp, Transport::Udp));
        assert!(!transport_covers(Transport::Udp, Transport::Any));
    }

    #[test]
    fn wildcard_hosts_cover_what_they_match() {
        assert!(!host_covers("*.anaconda.com", "anaconda.com"));
        assert!(host_covers("*.anaconda.com", "repo.anaconda.com"));
        assert!(host_covers("*.anaconda.com", "*.repo.anaconda.com"));
        assert!(host_covers("*pytorch.org", "evilpytorch.org"));
        assert!(host_covers("*pytorch.org", "pytorch.org"));
        assert!(host_covers("*pytorch.org", "*.pytorch.org"));
        assert!(!host_covers("*.pytorch.org", "*pytorch.org"));
        assert!(host_covers("*", "pypi.org"));
        assert!(host_covers("PyPI.org", "pypi.org"));
        assert!(!host_covers("pypi.org", "*.pypi.org"));
        assert!(!host_covers("files.pythonhosted.org", "*.pythonhosted.org"));
        let t = tags();
        let fqdn = |s: &str| Address::Fqdn(s.to_owned());
        assert!(matches!(
            address_covers(&t, &fqdn("*pytorch.org"), &fqdn("*.pytorch.org")),
            Cover::Broader(_)
        ));
        assert!(matches!(
            address_covers(&t, &fqdn("*"), &fqdn("pypi.org")),
            Cover::Broader(_)
        ));
        assert_eq!(
            address_covers(&t, &fqdn("*.anaconda.org"), &fqdn("*.anaconda.org")),
            Cover::Exact
        );
    }

    #[test]
    fn tags_match_any_casing_and_a_global_tag_is_broader_than_its_regional_tag() {
        let t = tags();
        assert_eq!(t.canonical("storage.eastus"), "Storage.EastUS");
        assert_eq!(
            t.canonical("AZUREFRONTDOOR.FRONTEND"),
            "AzureFrontDoor.Frontend"
        );
        assert_eq!(
            tag_covers(&t, "storage.EASTUS", "Storage.EastUS"),
            Cover::Exact
        );
        assert!(matches!(
            tag_covers(&t, "Storage", "Storage.EastUS"),
            Cover::Broader(why) if why.contains("global tag `Storage`")
        ));
        assert_eq!(tag_covers(&t, "Storage.EastUS", "Storage"), Cover::No);
        assert_eq!(
            tag_covers(&t, "Storage.WestUS", "Storage.EastUS"),
            Cover::No
        );
        assert!(addresses_overlap(
            &t,
            &Address::Tag("Storage.EastUS".into()),
            &Address::Tag("Storage".into())
        ));
        // The AzureCloud tag is not taken to hold other tags: Microsoft does not say so.
        assert_eq!(tag_covers(&t, "AzureCloud", "AzureMonitor"), Cover::No);
    }

    #[test]
    fn misspelled_and_unregioned_tags_are_invalid() {
        let t = tags();
        assert!(
            matches!(t.info("Keyvault.eastus"), TagInfo::Invalid(why) if why.contains("`AzureKeyVault.EastUS`"))
        );
        assert!(
            matches!(t.info("ContainerRegistry.EastUS"), TagInfo::Invalid(why) if why.contains("`AzureContainerRegistry.EastUS`"))
        );
        assert!(matches!(t.info("Storage.Mars"), TagInfo::Invalid(_)));
        assert_eq!(t.info("SomethingElse"), TagInfo::Unknown);
    }

    #[test]
    fn prefixes_cover_prefixes_and_virtual_network_holds_private_subnets() {
        let t = tags();
        let cidr = |s: &str| Address::Cidr(parse_cidr(s).unwrap());
        assert!(matches!(
            address_covers(&t, &cidr("10.0.0.0/16"), &cidr("10.0.1.0/24")),
            Cover::Broader(_)
        ));
        assert_eq!(
            address_covers(&t, &cidr("10.0.1.0/24"), &cidr("10.0.0.0/16")),
            Cover::No
        );
        assert_eq!(
            addresses_cover(
                &t,
                &[cidr("10.0.0.0/25"), cidr("10.0.0.128/25")],
                &cidr("10.0.0.0/24")
            ),
            Cover::Exact
        );
        assert!(matches!(
            address_covers(
                &t,
                &Address::Tag("VirtualNetwork".into()),
                &cidr("10.0.1.0/24")
            ),
            Cover::Broader(_)
        ));
        assert_eq!(
            address_covers(
                &t,
                &Address::Tag("VirtualNetwork".into()),
                &cidr("52.1.0.0/16")
            ),
            Cover::No
        );
        assert!(is_any_source(&cidr("0.0.0.0/0")));
    }

    #[test]
    fn with_a_tag_file_prefixes_match_tags() {
        let text = r#"{"changeNumber": 1, "cloud": "Public", "values": [
            {"name": "AzureMonitor", "id": "AzureMonitor", "properties": {"addressPrefixes": ["20.0.0.0/24", "20.0.1.0/24"]}}]}"#;
        let file: &'static ServiceTagFile<'static> = Box::leak(Box::new(
            ServiceTagFile::parse(
                Box::leak(text.to_owned().into_boxed_str()).as_bytes(),
                "t.json",
            )
            .unwrap(),
        ));
        let catalog: &'static Catalog = Box::leak(Box::new(Catalog::embedded()));
        let t = Tags::new(catalog, Cloud::Public, Some(file));
        let cidr = |s: &str| Address::Cidr(parse_cidr(s).unwrap());
        let monitor = Address::Tag("azuremonitor".into());
        assert_eq!(
            addresses_cover(&t, &[cidr("20.0.0.0/23")], &monitor),
            Cover::Exact
        );
        assert_eq!(
            addresses_cover(&t, &[cidr("20.0.0.0/24"), cidr("20.0.1.0/24")], &monitor),
            Cover::Exact
        );
        assert_eq!(
            addresses_cover(&t, &[cidr("20.0.0.0/24")], &monitor),
            Cover::No
        );
        assert!(matches!(t.info("NoSuchTag"), TagInfo::Invalid(_)));
    }
}
