//! An answer's body, read within bounds: at most `--body-cap` bytes are kept, whatever the
//! handler sends; the rest is counted and hashed as it passes, so that a report can say how long
//! the body was and which it was without holding it. A body in a content coding the browser
//! decodes (gzip, deflate) is decoded as it arrives, and never past the cap: a small body that
//! expands to gigabytes (a "gzip bomb") costs the harness one cap of memory and stops there.

use std::io::Write;

use flate2::write::{DeflateDecoder, GzDecoder, ZlibDecoder};
use sha2::{Digest, Sha256};

use crate::record;
use crate::record::http::hex;

/// The body as it is kept: the first `cap` bytes, the number of bytes received, and their digest
/// once they outgrow the cap (the bytes past it are hashed as they pass, never kept).
pub(super) struct Kept {
    cap: usize,
    bytes: Vec<u8>,
    length: u64,
    /// Hashing begins when the cap is reached, from the kept bytes on.
    digest: Option<Sha256>,
}

impl Kept {
    fn new(cap: usize) -> Kept {
        Kept { cap, bytes: Vec::new(), length: 0, digest: None }
    }

    fn full(&self) -> bool {
        self.bytes.len() >= self.cap
    }

    /// The body, with the hex SHA-256 of all of it when what is kept is not all of it or longer
    /// than `shown`.
    fn finish(self, shown: usize) -> record::Body {
        let digest = match self.digest {
            Some(digest) => Some(digest),
            None if self.bytes.len() > shown => Some(Sha256::new_with_prefix(&self.bytes)),
            None => None,
        };
        record::Body { bytes: self.bytes, length: self.length, sha256: digest.map(|d| hex(&d.finalize())) }
    }
}

impl Write for Kept {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.length += data.len() as u64;
        let room = self.cap - self.bytes.len().min(self.cap);
        let (kept, past) = data.split_at(room.min(data.len()));
        self.bytes.extend_from_slice(kept);
        if !past.is_empty() || self.digest.is_some() {
            let digest = self
                .digest
                .get_or_insert_with(|| Sha256::new_with_prefix(&self.bytes[..self.bytes.len() - kept.len()]));
            digest.update(kept);
            digest.update(past);
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// How the body arrives: as it is, or in a coding decoded as it comes.
enum Coding {
    Identity(Kept),
    Gzip(GzDecoder<Kept>),
    Zlib(ZlibDecoder<Kept>),
    /// "deflate" sent as a bare deflate stream, without zlib's wrapper: wrong, but browsers
    /// decode it, so the page works.
    Deflate(DeflateDecoder<Kept>),
    /// "deflate", until the first byte tells which of the two it is.
    Undecided(Kept),
}

/// A body being read: what arrives on the wire goes in, decoded when its coding is one the
/// harness decodes, kept up to the cap.
pub(super) struct Body {
    coding: Coding,
    /// Bytes of body as sent (what Content-Length counts).
    wire: u64,
    /// The coding's name, when the body is decoded.
    decoding: Option<&'static str>,
    /// Why the body is kept as sent although it is coded.
    note: Option<String>,
    /// Decoding stopped at the cap with coded bytes left: the decoded body is longer.
    stopped: bool,
    cap: usize,
}

impl Body {
    /// A body whose Content-Encoding is `encoding` (the header's value, if any), kept up to `cap`.
    pub(super) fn new(encoding: Option<&str>, cap: usize) -> Body {
        let kept = Kept::new(cap);
        let codings: Vec<String> = encoding
            .into_iter()
            .flat_map(|value| value.split(','))
            .map(|coding| coding.trim().to_ascii_lowercase())
            .filter(|coding| !coding.is_empty() && coding != "identity")
            .collect();
        let (coding, decoding, note) = match codings.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
            [] => (Coding::Identity(kept), None, None),
            ["gzip" | "x-gzip"] => (Coding::Gzip(GzDecoder::new(kept)), Some("gzip"), None),
            ["deflate"] => (Coding::Undecided(kept), Some("deflate"), None),
            _ => {
                let note = format!(
                    "Content-Encoding: {} is kept as sent: the harness decodes gzip and deflate only, \
                     so the checks saw the coded bytes",
                    codings.join(", ")
                );
                (Coding::Identity(kept), None, Some(note))
            }
        };
        Body { coding, wire: 0, decoding, note, stopped: false, cap }
    }

    /// Bytes of body received so far, as sent.
    pub(super) fn received(&self) -> u64 {
        self.wire
    }

    /// Takes the next piece of the body as it came. A coded body is decoded only until the cap is
    /// full; what comes after is counted as sent. An error is a body that does not decode.
    pub(super) fn take(&mut self, chunk: &[u8]) -> Result<(), String> {
        self.wire += chunk.len() as u64;
        if let Coding::Undecided(kept) = &mut self.coding
            && let Some(&first) = chunk.first()
        {
            let kept = std::mem::replace(kept, Kept::new(0));
            // A zlib stream begins with CM = 8 (deflate) in the low nibble of its first byte.
            self.coding = match first & 0x0f == 8 {
                true => Coding::Zlib(ZlibDecoder::new(kept)),
                false => Coding::Deflate(DeflateDecoder::new(kept)),
            };
        }
        let mut rest = chunk;
        // A decoder writes at most one buffer (32 KiB) of output per call: the cap is checked
        // between calls, so decoding stops within a buffer of it.
        while !rest.is_empty() {
            let decoding_done = self.decoding.is_some() && self.kept().full();
            let written = match &mut self.coding {
                Coding::Identity(kept) | Coding::Undecided(kept) => kept.write(rest),
                _ if decoding_done => {
                    self.stopped = true;
                    return Ok(());
                }
                Coding::Gzip(decoder) => decoder.write(rest),
                Coding::Zlib(decoder) => decoder.write(rest),
                Coding::Deflate(decoder) => decoder.write(rest),
            };
            match written {
                // The coded stream ended: what follows it is no part of the body.
                Ok(0) => return Ok(()),
                Ok(n) => rest = &rest[n..],
                Err(error) => return Err(self.undecodable(error)),
            }
        }
        Ok(())
    }

    fn kept(&self) -> &Kept {
        match &self.coding {
            Coding::Identity(kept) | Coding::Undecided(kept) => kept,
            Coding::Gzip(decoder) => decoder.get_ref(),
            Coding::Zlib(decoder) => decoder.get_ref(),
            Coding::Deflate(decoder) => decoder.get_ref(),
        }
    }

    fn kept_mut(&mut self) -> &mut Kept {
        match &mut self.coding {
            Coding::Identity(kept) | Coding::Undecided(kept) => kept,
            Coding::Gzip(decoder) => decoder.get_mut(),
            Coding::Zlib(decoder) => decoder.get_mut(),
            Coding::Deflate(decoder) => decoder.get_mut(),
        }
    }

    fn undecodable(&self, error: std::io::Error) -> String {
        let coding = self.decoding.unwrap_or("its coding");
        format!(
            "the body does not decode as {coding} (its Content-Encoding) after {} bytes: {error}; a browser shows no page",
            self.wire
        )
    }

    /// The body is complete: the decoded (or as sent) body kept, its length and digest, whether
    /// it was cut, and a note on its coding. An error is a coded body that ends too soon.
    pub(super) fn finish(mut self, shown: usize) -> Result<Finished, String> {
        let stopped = self.stopped;
        let ended = match &mut self.coding {
            _ if stopped => Ok(()),
            Coding::Identity(_) | Coding::Undecided(_) => Ok(()),
            Coding::Gzip(decoder) => decoder.try_finish(),
            Coding::Zlib(decoder) => decoder.try_finish(),
            Coding::Deflate(decoder) => decoder.try_finish(),
        };
        if let Err(error) = ended {
            return Err(self.undecodable(error));
        }
        let (wire, cap) = (self.wire, self.cap);
        let note = match (self.decoding, stopped) {
            (Some(coding), true) => Some(format!(
                "decoded from {coding} up to the body cap ({cap} bytes, --body-cap) and no further: \
                 the decoded body is longer ({wire} bytes as sent)"
            )),
            (Some(coding), false) => Some(format!("decoded from {coding} ({wire} bytes as sent)")),
            (None, _) => self.note.take(),
        };
        // The decoder flushed its output in `try_finish`, or decoding stopped at the cap and
        // the rest is not wanted.
        let kept = std::mem::replace(self.kept_mut(), Kept::new(0));
        let body = kept.finish(shown);
        Ok(Finished { truncated: !body.is_whole() || stopped, body, note })
    }
}

/// A body read to its end.
#[derive(Debug)]
pub(super) struct Finished {
    pub body: record::Body,
    /// The body kept is not the whole body: cut at the cap, or decoding stopped there.
    pub truncated: bool,
    pub note: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};

    fn take_all(encoding: Option<&str>, cap: usize, body: &[u8], piece: usize) -> Result<Finished, String> {
        let mut reading = Body::new(encoding, cap);
        for chunk in body.chunks(piece) {
            reading.take(chunk)?;
        }
        reading.finish(16)
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn a_body_past_the_cap_is_cut_counted_and_hashed_whole() {
        let body: Vec<u8> = (0..100u8).collect();
        let read = take_all(None, 30, &body, 7).unwrap();
        assert_eq!((read.body.bytes.as_slice(), read.body.length, read.truncated), (&body[..30], 100, true));
        assert_eq!(read.body.sha256, Some(hex(&Sha256::digest(&body))));
        let whole = take_all(None, 100, &body, 7).unwrap();
        assert_eq!((whole.body.length, whole.truncated, whole.body.sha256), (100, false, read.body.sha256));
    }

    #[test]
    fn a_short_body_has_no_digest() {
        let read = take_all(None, 30, b"<p>hi</p>", 4).unwrap();
        assert_eq!((read.body, read.truncated), (record::Body::from(b"<p>hi</p>".to_vec()), false));
    }

    #[test]
    fn gzip_and_both_deflates_are_decoded() {
        let page = b"<html><body>settings</body></html>".repeat(3);
        let read = take_all(Some("gzip"), 1000, &gzip(&page), 5).unwrap();
        assert_eq!(read.body.bytes, page);
        assert!(read.note.unwrap().starts_with("decoded from gzip"));
        let mut zlib = ZlibEncoder::new(Vec::new(), Compression::fast());
        zlib.write_all(&page).unwrap();
        let mut bare = DeflateEncoder::new(Vec::new(), Compression::fast());
        bare.write_all(&page).unwrap();
        for coded in [zlib.finish().unwrap(), bare.finish().unwrap()] {
            assert_eq!(take_all(Some("Deflate"), 1000, &coded, 3).unwrap().body.bytes, page);
        }
    }

    /// 8 MiB of zeros in a few KiB: decoding stops within a decoder buffer of the cap.
    #[test]
    fn a_gzip_bomb_is_decoded_up_to_the_cap_only() {
        let bomb = gzip(&vec![0u8; 8 << 20]);
        let read = take_all(Some("gzip"), 1 << 16, &bomb, 4096).unwrap();
        assert_eq!((read.body.bytes.len(), read.truncated), (1 << 16, true));
        assert!(read.body.length < (1 << 16) + (64 << 10), "decoded {} bytes", read.body.length);
        assert!(read.note.unwrap().contains("up to the body cap"));
    }

    #[test]
    fn a_coding_not_decoded_is_kept_as_sent_with_a_note() {
        let read = take_all(Some("br"), 100, b"\x1b\x03\x00", 2).unwrap();
        assert_eq!(read.body.bytes, b"\x1b\x03\x00");
        assert!(read.note.unwrap().starts_with("Content-Encoding: br is kept as sent"));
    }

    #[test]
    fn a_corrupt_gzip_body_is_an_error_that_says_so() {
        let error = take_all(Some("gzip"), 100, b"not gzip at all", 4).unwrap_err();
        assert!(error.starts_with("the body does not decode as gzip"), "{error}");
    }
}
