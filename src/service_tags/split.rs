//! The service tag file's parse, on two threads: its `values` array is cut in two near the
//! middle and each half is parsed at once.
//!
//! The file is 4 MB of JSON, and its parse is most of an IP-mode run; nothing else in a
//! run can start before it ends (the plan needs the tags), so a second core is otherwise
//! idle. JSON cannot be cut anywhere without parsing up to the cut (a `{` may sit in a
//! string), so the cut is a guess that is proven or dropped:
//!
//! - the guess is the first `{` after the middle of the file that is followed by
//!   whitespace and `"name"`, which is how every entry of `values` starts;
//! - a helper thread parses entries from the guess to the array's `]`, while this thread
//!   parses them from the first;
//! - when this thread's next entry starts exactly at the guess, the guess was an entry's
//!   start, and what the helper parsed from there is what this thread would have: the
//!   rest of an array, from an entry's start, is parsed the same whatever came before.
//!   Otherwise (the guess was inside an entry) the helper is told to stop, its work is
//!   dropped, and this thread goes on alone.
//!
//! Only a whole file parsed without any problem comes out of here. Anything else (a
//! malformed file, a key written with escapes, a duplicate key) gives `None`, and the
//! caller parses the file the plain way, which finds and locates the problem exactly as
//! it always has: this module only ever saves time, never decides what a file means.
//! Every value is still parsed by serde_json; this module only steps over the
//! punctuation between values, exactly as JSON defines it.

use std::sync::atomic::{AtomicBool, Ordering};

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny};
use serde_json::value::RawValue;

use super::{RawFile, TagSeed, Tags};

/// Below this many bytes of `values`, a second thread costs more than it saves.
pub(super) const SPLIT_BYTES: usize = 512 * 1024;

/// The file, parsed with the cut at the middle of `values` when it has at least
/// `split_bytes` of them; `None` for any file that is not a well-formed service tag file
/// (the caller's plain parse reports why).
pub(super) fn parse(bytes: &[u8], split_bytes: usize) -> Option<RawFile<'_>> {
    let mut at = Cursor { bytes, pos: 0 };
    let (mut change_number, mut cloud, mut values) = (None, None, None);
    at.expect(b'{')?;
    if !at.eat(b'}') {
        loop {
            let key: &str = at.value()?;
            at.expect(b':')?;
            match key {
                "changeNumber" if change_number.is_none() => change_number = Some(at.value()?),
                "cloud" if cloud.is_none() => cloud = Some(at.value::<String>()?),
                "values" if values.is_none() => values = Some(at.values(split_bytes)?),
                "changeNumber" | "cloud" | "values" => return None,
                _ => {
                    at.value::<IgnoredAny>()?;
                }
            }
            if at.eat(b'}') {
                break;
            }
            at.expect(b',')?;
        }
    }
    at.skip_whitespace();
    (at.pos == bytes.len()).then_some(())?;
    Some(RawFile {
        change_number: change_number?,
        cloud: cloud?,
        values: values?,
    })
}

/// A place in the file.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// Past JSON's whitespace (space, tab, line feed, carriage return).
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    /// Past `byte` (after whitespace) when it comes next.
    fn eat(&mut self, byte: u8) -> bool {
        self.skip_whitespace();
        let found = self.bytes.get(self.pos) == Some(&byte);
        if found {
            self.pos += 1;
        }
        found
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.eat(byte).then_some(())
    }

    /// The one JSON value that starts here (after whitespace), parsed by serde_json.
    fn value<T: Deserialize<'a>>(&mut self) -> Option<T> {
        let mut stream =
            serde_json::Deserializer::from_slice(&self.bytes[self.pos..]).into_iter::<T>();
        let value = stream.next()?.ok()?;
        self.pos += stream.byte_offset();
        Some(value)
    }

    /// The `values` array, from its `[` to past its `]`.
    fn values(&mut self, split_bytes: usize) -> Option<Tags<'a>> {
        self.expect(b'[')?;
        let mut tags = Tags::default();
        if self.eat(b']') {
            return Some(tags);
        }
        let Some(cut) = self.cut(split_bytes) else {
            self.entries(&mut tags, usize::MAX, &AtomicBool::new(false))?;
            return Some(tags);
        };
        let never_stopped = AtomicBool::new(false);
        let stop = AtomicBool::new(false);
        let bytes = self.bytes;
        std::thread::scope(|scope| {
            let second = scope.spawn(|| {
                let mut rest = Cursor { bytes, pos: cut };
                let mut tags = Tags::default();
                rest.entries(&mut tags, usize::MAX, &stop)
                    .map(|_| (tags, rest.pos))
            });
            let reached = self.entries(&mut tags, cut, &never_stopped);
            let taken = reached == Some(Stopped::Until) && self.pos == cut;
            #[cfg(test)]
            tests::note_cut(taken);
            if taken {
                let (rest, end) = second
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
                tags.names.extend(rest.names);
                tags.properties.extend(rest.properties);
                self.pos = end;
                return Some(());
            }
            // The guess was not an entry's start (or lay past the array), or the first
            // half is malformed.
            stop.store(true, Ordering::Relaxed);
            let _ = second.join();
            match reached? {
                Stopped::End => Some(()),
                Stopped::Until => self
                    .entries(&mut tags, usize::MAX, &never_stopped)
                    .map(|_| ()),
            }
        })?;
        Some(tags)
    }

    /// Entries from here (the start of one) to past the array's `]`, into `tags`; or up
    /// to the first entry that starts at or after `until`, leaving the cursor there.
    /// Gives up (`None`) when `stop` is set.
    fn entries(&mut self, tags: &mut Tags<'a>, until: usize, stop: &AtomicBool) -> Option<Stopped> {
        loop {
            self.skip_whitespace();
            if self.pos >= until {
                return Some(Stopped::Until);
            }
            if stop.load(Ordering::Relaxed) {
                return None;
            }
            let Entry(name, properties) = self.value()?;
            tags.names.push(name);
            tags.properties.push(properties);
            if self.eat(b']') {
                return Some(Stopped::End);
            }
            self.expect(b',')?;
        }
    }

    /// Where the second half of `values` is guessed to start: the first entry-like `{`
    /// after the middle of the rest of the file, when that rest is large enough to split.
    fn cut(&self, split_bytes: usize) -> Option<usize> {
        let rest = self.bytes.len().checked_sub(self.pos)?;
        if rest < split_bytes {
            return None;
        }
        let middle = self.pos + rest / 2;
        let bytes = self.bytes;
        (middle..bytes.len()).find(|&at| {
            bytes[at] == b'{' && {
                let mut next = at + 1;
                while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(next) {
                    next += 1;
                }
                bytes[next..].starts_with(b"\"name\"")
            }
        })
    }
}

/// Where [`Cursor::entries`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stopped {
    /// Past the array's `]`.
    End,
    /// At an entry that starts at or after the place it was given.
    Until,
}

/// One entry of `values`, as the plain parse reads it ([`TagSeed`]).
struct Entry<'a>(&'a str, &'a RawValue);

impl<'de> Deserialize<'de> for Entry<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (name, properties) = deserializer.deserialize_map(TagSeed(std::marker::PhantomData))?;
        Ok(Entry(name, properties))
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::super::{ServiceTagError, ServiceTagFile};
    use crate::catalog::Cloud;

    thread_local! {
        /// The cuts this thread's parses tried: (taken, dropped).
        static CUTS: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
    }

    pub(super) fn note_cut(taken: bool) {
        CUTS.with(|cuts| {
            let (t, d) = cuts.get();
            cuts.set(if taken { (t + 1, d) } else { (t, d + 1) });
        });
    }

    fn cuts() -> (usize, usize) {
        CUTS.with(Cell::take)
    }

    type Parsed = (Cloud, u64, Vec<String>, Vec<String>);

    /// What a parse gives: the file's facts and each tag's name and raw properties.
    fn parsed(bytes: &[u8], split_bytes: usize) -> Result<Parsed, ServiceTagError> {
        let file = ServiceTagFile::parse_split(bytes, "f.json", split_bytes)?;
        Ok((
            file.cloud,
            file.change_number,
            file.tags.names.iter().map(|n| (*n).to_owned()).collect(),
            file.tags
                .properties
                .iter()
                .map(|p| p.get().to_owned())
                .collect(),
        ))
    }

    /// A file of `count` tags as Microsoft writes them (pretty-printed), each tag's
    /// properties holding `extra` after its prefixes.
    fn file_of(count: usize, extra: &str) -> String {
        let tags: Vec<String> = (0..count)
            .map(|i| {
                format!(
                    "    {{\n      \"name\": \"Tag{i}.EastUS\",\n      \"id\": \"Tag{i}.EastUS\",\n      \"properties\": {{\n        \"changeNumber\": {i},\n        \"addressPrefixes\": [\n          \"10.{}.{}.0/24\",\n          \"2603:1030:{i:x}::/48\"\n        ]{extra}\n      }}\n    }}",
                    i / 256 % 256,
                    i % 256
                )
            })
            .collect();
        format!(
            "{{\n  \"changeNumber\": 375,\n  \"cloud\": \"Public\",\n  \"values\": [\n{}\n  ]\n}}\n",
            tags.join(",\n")
        )
    }

    #[test]
    fn a_file_parses_on_two_threads_as_on_one() {
        let text = file_of(2_000, "");
        let one = parsed(text.as_bytes(), usize::MAX);
        cuts();
        let two = parsed(text.as_bytes(), 0);
        assert_eq!(cuts(), (1, 0), "the cut was taken");
        let one = one.unwrap();
        assert_eq!(one.2.len(), 2_000);
        assert_eq!(two.unwrap(), one);
        // The real file's size: the default threshold splits it.
        let large = file_of(20_000, "");
        assert!(large.len() > super::SPLIT_BYTES);
        assert_eq!(
            ServiceTagFile::parse(large.as_bytes(), "f.json")
                .unwrap()
                .tags
                .names
                .len(),
            20_000
        );
        assert_eq!(cuts(), (1, 0));
    }

    #[test]
    fn a_guess_inside_an_entry_is_dropped() {
        // Every entry holds objects that start like entries, and each is long, so the
        // middle of the file falls among them.
        let nested = format!(
            ",\n        \"nested\": [{}]",
            vec!["{ \"name\": \"not a tag\", \"id\": 1 }"; 400].join(", ")
        );
        let text = file_of(7, &nested);
        let one = parsed(text.as_bytes(), usize::MAX).unwrap();
        cuts();
        assert_eq!(parsed(text.as_bytes(), 0).unwrap(), one);
        assert_eq!(cuts(), (0, 1), "the guess was dropped");
        // The array ends before the middle; what follows it only looks like entries.
        let after = file_of(3, "").replace(
            "\n  ]\n}",
            &format!(
                "\n  ],\n  \"later\": [{}]\n}}",
                vec!["{\"name\": \"x\"}"; 400].join(", ")
            ),
        );
        let one = parsed(after.as_bytes(), usize::MAX).unwrap();
        assert_eq!(one.2.len(), 3);
        assert_eq!(parsed(after.as_bytes(), 0).unwrap(), one);
        assert_eq!(cuts(), (0, 1), "the guess past the array was dropped");
        // ...and the split parse took the file whole: no plain parse was needed.
        assert!(super::parse(after.as_bytes(), 0).is_some());
        assert!(super::parse(text.as_bytes(), 0).is_some());
    }

    #[test]
    fn every_file_the_split_parse_refuses_is_judged_by_the_plain_parse() {
        let good = file_of(40, "");
        let mut cases: Vec<String> = vec![
            good.clone(),
            good.replace("\"values\": [", "\"values\": [ ]  , \"x\": ["),
            "{\"changeNumber\": 1, \"cloud\": \"Public\", \"values\": []}".to_owned(),
            "{\"cloud\": \"Public\", \"values\": [], \"changeNumber\": 1, \"more\": {\"a\": [1, 2]}}".to_owned(),
            "{\"changeNumber\": 1, \"cloud\": \"Public\", \"values\": [], \"cloud\": \"China\"}".to_owned(),
            "{\"changeNumber\": 1, \"cl\\u006fud\": \"Public\", \"values\": []}".to_owned(),
            "{}".to_owned(),
            "[]".to_owned(),
            String::new(),
        ];
        // Broken in either half: a missing comma, a trailing comma, a missing bracket,
        // a number run into a name, text after the end, a duplicate name.
        let second = good.rfind("\"name\"").unwrap();
        let first = good.find("\"name\"").unwrap();
        for at in [first, second] {
            let (head, tail) = good.split_at(at);
            cases.push(format!("{head}\"name\": \"A\", {tail}"));
            cases.push(format!(
                "{}{}",
                head.trim_end_matches(|c: char| c != ','),
                tail
            ));
        }
        cases.push(good.replacen("},\n    {", "}\n    {", 1));
        cases.push(good.replace("\n  ]\n}", ",\n  ]\n}"));
        cases.push(good.replace("\n  ]\n}", "\n}"));
        cases.push(good.replacen("\"changeNumber\": 375", "\"changeNumber\": 375x", 1));
        cases.push(format!("{good} {{}}"));
        cases.push(good.replace(
            "\n  ]\n}",
            ",\n {\"name\": \"x\", \"properties\": {}, \"name\": \"y\"}\n  ]\n}",
        ));
        for (index, case) in cases.iter().enumerate() {
            assert_eq!(
                parsed(case.as_bytes(), 0),
                parsed(case.as_bytes(), usize::MAX),
                "case {index}"
            );
        }
        assert!(parsed(cases[0].as_bytes(), 0).is_ok());
        assert!(
            cases[9..]
                .iter()
                .all(|case| parsed(case.as_bytes(), 0).is_err())
        );
    }
}
