//! Lowercase hex encoding and decoding without allocation beyond the output.

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Appends the lowercase hex form of a 32-byte digest to `out` in one copy.
// Both indexes are below 16 by construction (a nibble).
#[allow(clippy::indexing_slicing)]
pub(crate) fn push_hex32(out: &mut String, bytes: &[u8; 32]) {
    let mut buf = [0u8; 64];
    for (pair, &b) in buf.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0x0f)];
    }
    // Every byte written is an ASCII hex digit.
    out.push_str(std::str::from_utf8(&buf).unwrap_or_default());
}

/// Appends the lowercase hex form of `bytes` to `out`.
// Both indexes are below 16 by construction (a nibble).
#[allow(clippy::indexing_slicing)]
pub(crate) fn push_hex(out: &mut String, bytes: &[u8]) {
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes exactly `N` bytes of hex (either case); `None` for any other length or a non-hex digit.
pub(crate) fn decode_array<const N: usize>(hex: &str) -> Option<[u8; N]> {
    let bytes = hex.as_bytes();
    if bytes.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let [hi, lo] = pair else { return None };
        *slot = (nibble(*hi)? << 4) | nibble(*lo)?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut s = String::new();
        push_hex(&mut s, &[0x00, 0x7f, 0xab, 0xff]);
        assert_eq!(s, "007fabff");
        let mut long = String::from("k:");
        let bytes: [u8; 32] = std::array::from_fn(|i| (i * 8) as u8);
        push_hex32(&mut long, &bytes);
        let mut slow = String::from("k:");
        push_hex(&mut slow, &bytes);
        assert_eq!(long, slow);
        assert_eq!(
            decode_array::<4>("007FABff"),
            Some([0x00, 0x7f, 0xab, 0xff])
        );
        assert_eq!(decode_array::<4>("007fab"), None);
        assert_eq!(decode_array::<4>("007fabfg"), None);
        assert_eq!(decode_array::<2>("é1"), None);
    }
}
