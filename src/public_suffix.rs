//! Which host names are public suffixes (`co.uk`, `github.io`): the names under which
//! anyone can register a domain, so a wildcard directly beneath one (`*.co.uk`) matches
//! unrelated owners. Backed by the Public Suffix List compiled into the `psl` crate, so
//! nothing is parsed at start-up.
//!
//! Shared by the scenario decoder (a user's extra hosts), the catalog loader and the
//! planner's least-privilege lint (every rule, whatever produced it).

/// The section of the Public Suffix List a suffix comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuffixKind {
    /// The ICANN section (`com`, `co.uk`), or a single label the list does not know
    /// (`corp`, `internal`), which is a top-level domain all the same.
    Icann,
    /// The private section: suffixes companies open to their customers (`github.io`,
    /// `azurewebsites.net`, `blob.core.windows.net`).
    Private,
}

/// The kind of public suffix `name` is when the whole of `name` is one, or `None` when
/// `name` is a registrable domain or below one. Case and one trailing dot are ignored.
#[must_use]
pub fn public_suffix_kind(name: &str) -> Option<SuffixKind> {
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    if name.is_empty() {
        return None;
    }
    let suffix = psl::suffix(name.as_bytes())?;
    if suffix.as_bytes() != name.as_bytes() {
        return None;
    }
    match suffix.typ() {
        Some(psl::Type::Private) => Some(SuffixKind::Private),
        Some(psl::Type::Icann) => Some(SuffixKind::Icann),
        // Not on the list: psl's default rule makes the last label the suffix, so this is
        // a single label, a top-level domain.
        None => Some(SuffixKind::Icann),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_suffixes_of_both_sections_and_unlisted_top_level_labels() {
        assert_eq!(public_suffix_kind("uk"), Some(SuffixKind::Icann));
        assert_eq!(public_suffix_kind("co.uk"), Some(SuffixKind::Icann));
        assert_eq!(public_suffix_kind("CO.UK."), Some(SuffixKind::Icann));
        assert_eq!(public_suffix_kind("corp"), Some(SuffixKind::Icann));
        assert_eq!(public_suffix_kind("github.io"), Some(SuffixKind::Private));
        assert_eq!(
            public_suffix_kind("blob.core.windows.net"),
            Some(SuffixKind::Private)
        );
    }

    #[test]
    fn registrable_domains_and_names_below_them_are_not_suffixes() {
        for name in [
            "example.co.uk",
            "pythonhosted.org",
            "core.windows.net",
            "a.b.github.io",
            "",
        ] {
            assert_eq!(public_suffix_kind(name), None, "{name}");
        }
    }
}
