//! Channel-name patterns such as `orders.{id}`: compiled once, matched fully and in linear
//! time.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::params::{self, ParamError};
use crate::names::ChannelName;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(String),
    Param(String),
}

/// A compiled channel pattern such as `chat.{room}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    source: String,
    tokens: Vec<Token>,
}

/// Why a pattern is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid channel pattern `{pattern}`: {reason}")]
pub struct PatternError {
    pattern: String,
    reason: &'static str,
}

impl Pattern {
    /// Compiles a pattern: literal channel-name characters and `{name}` parameters.
    ///
    /// ```
    /// use pusher_protocol::channel::Pattern;
    /// assert!(Pattern::new("orders.{id}").is_ok());
    /// assert!(Pattern::new("private-orders.{id}").is_err()); // no kind prefix in patterns
    /// assert!(Pattern::new("a{x}{y}").is_err()); // adjacent parameters are ambiguous
    /// ```
    pub fn new(pattern: &str) -> Result<Self, PatternError> {
        let err = |reason| PatternError {
            pattern: pattern.to_string(),
            reason,
        };
        if pattern.is_empty() {
            return Err(err("it is empty"));
        }
        for prefix in ["private-", "presence-"] {
            if pattern.starts_with(prefix) {
                return Err(err("it must not include the kind prefix (`private-`, `presence-`): the kind is given apart"));
            }
        }
        let mut tokens = Vec::new();
        let mut rest = pattern;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('{') {
                let end = after.find('}').ok_or_else(|| err("a `{` is not closed"))?;
                let name = after.get(..end).unwrap_or_default();
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    return Err(err(
                        "parameter names must be non-empty and use A-Z a-z 0-9 _",
                    ));
                }
                if matches!(tokens.last(), Some(Token::Param(_))) {
                    return Err(err("two parameters must be separated by a literal"));
                }
                if tokens
                    .iter()
                    .any(|t| matches!(t, Token::Param(n) if n == name))
                {
                    return Err(err("a parameter name repeats"));
                }
                tokens.push(Token::Param(name.to_string()));
                rest = after.get(end + 1..).unwrap_or_default();
            } else {
                let end = rest.find('{').unwrap_or(rest.len());
                let literal = rest.get(..end).unwrap_or_default();
                if !literal.bytes().all(ChannelName::is_allowed_byte) {
                    return Err(err("literals may only contain channel-name characters (A-Z a-z 0-9 _ - = @ , . ;)"));
                }
                tokens.push(Token::Literal(literal.to_string()));
                rest = rest.get(end..).unwrap_or_default();
            }
        }
        Ok(Pattern {
            source: pattern.to_string(),
            tokens,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The parameter names, in pattern order.
    pub fn params(&self) -> impl Iterator<Item = &str> {
        self.tokens.iter().filter_map(|t| match t {
            Token::Param(name) => Some(name.as_str()),
            Token::Literal(_) => None,
        })
    }

    /// Matches `name` (a channel name without its kind prefix) fully; returns the parameters
    /// in pattern order. Takes time linear in `name` for a given pattern.
    ///
    /// ```
    /// use pusher_protocol::channel::Pattern;
    /// let p = Pattern::new("orders.{id}.items.{item}")?;
    /// assert_eq!(p.matches("orders.7.items.x-1"), Some(vec![("id", "7"), ("item", "x-1")]));
    /// assert_eq!(p.matches("orders.7.items.x.1"), None);
    /// assert_eq!(p.matches("orders.7.items."), None);
    /// let p = Pattern::new("game-{id}-{team}")?;
    /// assert_eq!(p.matches("game-1-2-red"), Some(vec![("id", "1-2"), ("team", "red")]));
    /// # Ok::<(), pusher_protocol::channel::PatternError>(())
    /// ```
    pub fn matches<'a>(&'a self, name: &'a str) -> Option<Vec<(&'a str, &'a str)>> {
        self.match_counting(name, &mut 0)
    }

    /// The parameters of `name` (a channel name without its kind prefix), deserialized into
    /// `P` (one value, a tuple in pattern order, a struct with named fields, or `()`): `None`
    /// when the name does not match. Values parse like `FromStr` and must be written
    /// canonically (`007` is not 7).
    ///
    /// ```
    /// use pusher_protocol::channel::Pattern;
    ///
    /// #[derive(serde::Deserialize, Debug, PartialEq)]
    /// struct Line { order: u64, line: u16 }
    ///
    /// let p = Pattern::new("orders.{order}.lines.{line}")?;
    /// assert_eq!(p.parse::<Line>("orders.7.lines.2").unwrap()?, Line { order: 7, line: 2 });
    /// assert_eq!(p.parse::<(u64, u16)>("orders.7.lines.2").unwrap()?, (7, 2));
    /// assert!(p.parse::<Line>("orders.007.lines.2").unwrap().is_err());
    /// assert!(p.parse::<Line>("orders.7").is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse<P: DeserializeOwned>(&self, name: &str) -> Option<Result<P, ParamError>> {
        let captures = self.matches(name)?;
        Some(params::deserialize(&captures))
    }

    /// Whether `P` can take this pattern's parameters (a tuple of the right length, a struct
    /// whose fields are all parameters, …): the check route registration makes, so that a
    /// handler that cannot fit its pattern shows at start-up.
    ///
    /// ```
    /// use pusher_protocol::channel::Pattern;
    /// let p = Pattern::new("a.{x}.{y}")?;
    /// assert!(p.check::<(u8, u8)>().is_ok());
    /// assert_eq!(
    ///     p.check::<(u8, u8, u8)>().unwrap_err().to_string(),
    ///     "the handler takes a tuple of 3, the pattern has 2 parameters (x, y)",
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check<P: DeserializeOwned>(&self) -> Result<(), ParamError> {
        params::check_shape::<P>(self)
    }

    /// The name (without the kind prefix) these parameters make: `P` serializes to the
    /// parameters (a struct with named fields, a tuple in pattern order, one value, or unit).
    ///
    /// ```
    /// use pusher_protocol::channel::Pattern;
    ///
    /// #[derive(serde::Serialize)]
    /// struct Line { order: u64, line: u16 }
    ///
    /// let p = Pattern::new("orders.{order}.lines.{line}")?;
    /// assert_eq!(p.format(&Line { order: 7, line: 2 })?, "orders.7.lines.2");
    /// assert_eq!(p.format(&(7, 2))?, "orders.7.lines.2");
    /// assert!(p.format(&(7,)).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn format<P: Serialize + ?Sized>(&self, params: &P) -> Result<String, ParamError> {
        let values = params::serialize(params, self)?;
        let mut out = String::with_capacity(self.source.len() + 16);
        let mut next = values.iter();
        for token in &self.tokens {
            match token {
                Token::Literal(literal) => out.push_str(literal),
                Token::Param(name) => match next.next() {
                    Some(value) => out.push_str(value),
                    None => {
                        return Err(ParamError::shape(format!(
                            "no value for parameter `{name}`"
                        )))
                    }
                },
            }
        }
        Ok(out)
    }

    /// [`Pattern::matches`], adding the number of elementary steps taken to `steps`.
    ///
    /// The matcher is a dynamic programme over (token, position): `reach[i][p]` says whether
    /// tokens `i..` match `name[p..]`, computed backwards in one pass per token; a parameter
    /// keeps, per position, the furthest end from which the rest matches, so the captures are
    /// those a backtracking matcher would find (earlier parameters as long as possible), without
    /// its exponential search.
    fn match_counting<'a>(
        &'a self,
        name: &'a str,
        steps: &mut usize,
    ) -> Option<Vec<(&'a str, &'a str)>> {
        let bytes = name.as_bytes();
        let n = bytes.len();
        let m = self.tokens.len();
        // end[i][p]: for a parameter token, the end of its value when tokens i.. match at p;
        // for a literal, p + its length. `None`: tokens i.. do not match at p.
        let mut end: Vec<Vec<Option<usize>>> = vec![vec![None; n + 1]; m];
        let mut next: Vec<bool> = (0..=n).map(|p| p == n).collect();
        for (i, token) in self.tokens.iter().enumerate().rev() {
            let row = end.get_mut(i)?;
            let mut reach = vec![false; n + 1];
            match token {
                Token::Literal(lit) => {
                    for p in 0..=n {
                        *steps += 1 + lit.len();
                        let after = p + lit.len();
                        if bytes.get(p..after) == Some(lit.as_bytes())
                            && next.get(after).copied().unwrap_or(false)
                        {
                            mark(&mut reach, row, p, after);
                        }
                    }
                }
                Token::Param(_) => {
                    // best: the furthest e in (p, end of p's dot-free run] where tokens i+1..
                    // match; it only grows as p moves left within a run.
                    let mut best: Option<usize> = None;
                    for p in (0..n).rev() {
                        *steps += 1;
                        if bytes.get(p) == Some(&b'.') {
                            best = None;
                            continue;
                        }
                        let run_continues = bytes.get(p + 1).is_some_and(|&b| b != b'.');
                        if !run_continues {
                            best = None;
                        }
                        if best.is_none() && next.get(p + 1).copied().unwrap_or(false) {
                            best = Some(p + 1);
                        }
                        if let Some(e) = best {
                            mark(&mut reach, row, p, e);
                        }
                    }
                }
            }
            next = reach;
        }
        if !next.first().copied().unwrap_or(false) {
            return None;
        }
        let mut captures = Vec::new();
        let mut p = 0;
        for (i, token) in self.tokens.iter().enumerate() {
            *steps += 1;
            let e = end.get(i)?.get(p).copied().flatten()?;
            if let Token::Param(param) = token {
                captures.push((param.as_str(), name.get(p..e)?));
            }
            p = e;
        }
        Some(captures)
    }
}

/// Tokens `i..` match at `p`, the current token ending at `end`.
fn mark(reach: &mut [bool], row: &mut [Option<usize>], p: usize, end: usize) {
    if let (Some(r), Some(w)) = (reach.get_mut(p), row.get_mut(p)) {
        *r = true;
        *w = Some(end);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn patterns_match_fully_and_literally() {
        let p = Pattern::new("orders.{id}").unwrap();
        assert_eq!(p.matches("orders.1"), Some(vec![("id", "1")]));
        for no in [
            "ordersShipment.1",
            "orders.",
            "orders.1.2",
            "xorders.1",
            "orders",
            "orders.1x.",
            "ordersX1",
        ] {
            assert_eq!(p.matches(no), None, "{no}");
        }
        let p = Pattern::new("App.Employee.{id}").unwrap();
        assert_eq!(p.matches("App.Employee.1.Extra"), None);
        assert_eq!(p.matches("AppXEmployee.1"), None);
        let p = Pattern::new("chat").unwrap();
        assert_eq!(p.matches("chat"), Some(vec![]));
        assert_eq!(p.matches("chat2"), None);
        let p = Pattern::new("room-{a}-x.{b}").unwrap();
        assert_eq!(
            p.matches("room-1-2-x.y"),
            Some(vec![("a", "1-2"), ("b", "y")])
        );
        let p = Pattern::new("{a}-{b}-{c}").unwrap();
        assert_eq!(
            p.matches("1-2-3-4"),
            Some(vec![("a", "1-2"), ("b", "3"), ("c", "4")])
        );
        assert_eq!(p.matches("1-2"), None);
        assert_eq!(p.matches("1--2"), None);
        for bad in [
            "",
            "{}",
            "a{",
            "a{b c}",
            "a{x}{y}",
            "private-a",
            "presence-a",
            "a/b",
            "{x}.{x}",
        ] {
            assert!(Pattern::new(bad).is_err(), "{bad}");
        }
    }

    /// The matcher the old backtracking one was: the reference for the captures.
    fn backtrack<'a>(
        tokens: &'a [Token],
        name: &'a str,
        captures: &mut Vec<(&'a str, &'a str)>,
    ) -> bool {
        let Some((first, rest)) = tokens.split_first() else {
            return name.is_empty();
        };
        match first {
            Token::Literal(lit) => name
                .strip_prefix(lit.as_str())
                .is_some_and(|remaining| backtrack(rest, remaining, captures)),
            Token::Param(param) => {
                let limit = name.find('.').unwrap_or(name.len());
                for end in (1..=limit).rev() {
                    captures.push((param.as_str(), &name[..end]));
                    if backtrack(rest, &name[end..], captures) {
                        return true;
                    }
                    captures.pop();
                }
                false
            }
        }
    }

    /// The pattern of the reported attack: 164 bytes cost ~200 ms with backtracking.
    #[test]
    fn the_reported_pattern_is_linear() {
        let p = Pattern::new("game-{id}-{team}-{role}-{seat}").unwrap();
        let name = format!("game-{}", "-".repeat(140) + "x.");
        let mut steps = 0;
        assert_eq!(p.match_counting(&name, &mut steps), None);
        // 9 tokens over 147 bytes: a few thousand steps, where backtracking needs billions.
        assert!(steps < 9 * 150 * 8, "{steps} steps");
    }

    fn pattern_strategy() -> impl Strategy<Value = String> {
        // Literals from a small alphabet rich in separators, parameters between them.
        proptest::collection::vec(("[-.ab]{1,3}", any::<bool>()), 1..7).prop_map(|parts| {
            let mut out = String::new();
            for (i, (lit, param)) in parts.into_iter().enumerate() {
                out.push_str(&lit);
                if param {
                    out.push_str(&format!("{{p{i}}}"));
                }
            }
            out
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

        /// The work is bounded by (name length + 1) × (pattern length + 1), and the captures
        /// are exactly those of a backtracking matcher.
        #[test]
        fn matching_is_linear_and_agrees_with_backtracking(
            pattern in pattern_strategy(),
            name in "[-.abx]{0,40}",
        ) {
            let p = Pattern::new(&pattern).unwrap();
            let mut steps = 0;
            let ours = p.match_counting(&name, &mut steps);
            let bound = 2 * (name.len() + 2) * (pattern.len() + 2);
            prop_assert!(steps <= bound, "{} steps for {:?} on {:?} (bound {})", steps, pattern, name, bound);
            let mut captures = Vec::new();
            let reference = backtrack(&p.tokens, &name, &mut captures).then_some(captures);
            prop_assert_eq!(ours, reference);
        }

        /// Long names against the worst patterns stay within the same bound.
        #[test]
        fn worst_case_names_stay_linear(k in 2usize..8, len in 1usize..164) {
            let pattern = (0..k).map(|i| format!("{{p{i}}}")).collect::<Vec<_>>().join("-");
            let p = Pattern::new(&format!("g-{pattern}")).unwrap();
            let name = format!("g-{}x.", "-".repeat(len));
            let mut steps = 0;
            let _ = p.match_counting(&name, &mut steps);
            prop_assert!(steps <= 2 * (name.len() + 2) * (pattern.len() + 4));
        }
    }
}
