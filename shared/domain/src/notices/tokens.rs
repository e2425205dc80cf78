//! The per-company path tokens of `POST /fenbeitong/notify/{token}` (Fenbeitong pushes are
//! unsigned, so an unguessable URL is the authentication; partners.md, Busgate decisions).

use sha2::{Digest, Sha256};

use super::error::NoticeError;

/// Company of a bare `token` entry.
pub const DEFAULT_COMPANY: &str = "default";
/// Shortest token accepted (an unguessable secret; 32 random bytes in base64url is 43).
pub const MIN_TOKEN_CHARS: usize = 16;
/// Longest token accepted.
pub const MAX_TOKEN_CHARS: usize = 256;
/// Longest company name (it becomes part of stored records).
pub const MAX_COMPANY_CHARS: usize = 64;

/// A configuration error. Messages name the entry by position and never show a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokensError {
    #[error("BUSGATE_FENBEITONG_TOKENS: entry {0}: empty company name")]
    EmptyCompany(usize),
    #[error("BUSGATE_FENBEITONG_TOKENS: entry {0}: company must be 1-64 of A-Z a-z 0-9 _ . -")]
    BadCompany(usize),
    #[error("BUSGATE_FENBEITONG_TOKENS: entry {0}: token must be 16-256 of A-Z a-z 0-9 _ . ~ - (URL-safe)")]
    BadToken(usize),
    #[error("BUSGATE_FENBEITONG_TOKENS: entry {0}: token already configured (entry {1})")]
    DuplicateToken(usize, usize),
}

struct Entry {
    company: String,
    /// 1-based position in the variable, for messages.
    pos: usize,
    digest: [u8; 32],
}

/// The configured tokens. `Debug` never prints them; only their SHA-256 is kept.
pub struct Tokens {
    entries: Vec<Entry>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").field("companies", &self.entries.iter().map(|e| e.company.as_str()).collect::<Vec<_>>()).finish_non_exhaustive()
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Tokens {
    /// Parses `BUSGATE_FENBEITONG_TOKENS`: comma-separated `company=token` pairs; a bare `token`
    /// belongs to [`DEFAULT_COMPANY`]. Whitespace around entries and empty entries (a trailing
    /// comma) are ignored. A company may have several tokens (rotation); a token may not be
    /// configured twice. An empty value configures no token (every request then gets 401).
    pub fn parse(env_value: &str) -> Result<Tokens, TokensError> {
        let mut entries: Vec<Entry> = Vec::new();
        for (i, raw) in env_value.split(',').enumerate() {
            let n = i + 1;
            let raw = raw.trim();
            if raw.is_empty() {
                continue;
            }
            let (company, token) = match raw.split_once('=') {
                Some((c, t)) => (c.trim(), t.trim()),
                None => (DEFAULT_COMPANY, raw),
            };
            if company.is_empty() {
                return Err(TokensError::EmptyCompany(n));
            }
            let company_ok =
                company.chars().count() <= MAX_COMPANY_CHARS && company.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
            if !company_ok {
                return Err(TokensError::BadCompany(n));
            }
            let token_ok = (MIN_TOKEN_CHARS..=MAX_TOKEN_CHARS).contains(&token.len())
                && token.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'~' | b'-'));
            if !token_ok {
                return Err(TokensError::BadToken(n));
            }
            let d = digest(token);
            if let Some(e) = entries.iter().find(|e| e.digest == d) {
                return Err(TokensError::DuplicateToken(n, e.pos));
            }
            entries.push(Entry { company: company.to_string(), pos: n, digest: d });
        }
        Ok(Tokens { entries })
    }

    /// Number of configured tokens.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The company whose token this is. Constant time in the token's content and length: the
    /// presented token is hashed once (SHA-256, hiding its length), then compared with every
    /// configured token's hash by an XOR fold, with no early exit and a branch-free selection.
    pub fn company_for(&self, token: &str) -> Option<&str> {
        let presented = digest(token);
        let mut found: usize = 0; // index + 1 of the match, 0 for none
        for (i, e) in self.entries.iter().enumerate() {
            let eq = ct_eq(&presented, &e.digest);
            // mask = all ones when eq, else zero
            let mask = (eq as usize).wrapping_neg();
            found = (found & !mask) | ((i + 1) & mask);
        }
        let found = std::hint::black_box(found);
        found.checked_sub(1).map(|i| self.entries[i].company.as_str())
    }

    /// [`Tokens::company_for`], or V1's 401 answer.
    pub fn authorize(&self, token: &str) -> Result<&str, NoticeError> {
        self.company_for(token).ok_or(NoticeError::Unauthorized)
    }
}

/// Constant-time equality of two 32-byte digests.
fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let mut acc: u8 = 0;
    for i in 0..32 {
        acc |= a[i] ^ b[i];
    }
    std::hint::black_box(acc) == 0
}
