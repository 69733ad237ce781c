//! Small domain values: email, role, visibility, tags.

use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, Invalid};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(pub String);

impl Email {
    /// A pragmatic check (one `@`, no spaces or controls, ≤ 254 bytes); stored lowercased so that
    /// one address cannot make two accounts.
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s = s.trim();
        let valid = s.len() <= 254
            && s.chars().all(|c| c.is_ascii_graphic())
            && s.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            });
        if valid {
            Ok(Self(s.to_ascii_lowercase()))
        } else {
            Err(Invalid::new(ErrorCode::InvalidEmail, "email must be an address like name@example.com"))
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    User,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        match s {
            "admin" => Ok(Role::Admin),
            "user" => Ok(Role::User),
            _ => Err(Invalid::new(ErrorCode::InvalidRole, "role must be admin or user")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    #[default]
    Public,
    Private,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Private => "private",
        }
    }
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        match s {
            "public" => Ok(Visibility::Public),
            "private" => Ok(Visibility::Private),
            _ => Err(Invalid::new(
                ErrorCode::InvalidVisibility,
                format!("visibility must be public or private, not {s:?}"),
            )),
        }
    }
}

/// An asset's tags: at most 32, each 1–64 characters of `A-Z a-z 0-9 _ - . :`, without duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Tags(pub Vec<String>);

pub const MAX_TAGS: usize = 32;
const MAX_TAG_LEN: usize = 64;

impl Tags {
    /// `"a,b"` (an empty string is no tags).
    pub fn parse_csv(s: &str) -> Result<Self, Invalid> {
        if s.trim().is_empty() {
            return Ok(Self::default());
        }
        Self::parse_list(&s.split(',').collect::<Vec<_>>())
    }

    pub fn parse_list(items: &[impl AsRef<str>]) -> Result<Self, Invalid> {
        Self::check_list(items).map_err(|message| Invalid::new(ErrorCode::InvalidTags, message))
    }

    fn check_list(items: &[impl AsRef<str>]) -> Result<Self, String> {
        if items.len() > MAX_TAGS {
            return Err(format!("at most {MAX_TAGS} tags are allowed"));
        }
        let mut tags: Vec<String> = Vec::with_capacity(items.len());
        for item in items {
            let tag = item.as_ref().trim();
            if tag.is_empty() || tag.len() > MAX_TAG_LEN {
                return Err(format!("each tag must be 1 to {MAX_TAG_LEN} characters long"));
            }
            if !tag.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')) {
                return Err(format!("tag {tag:?} may only contain A-Z, a-z, 0-9, _ - . and :"));
            }
            if !tags.iter().any(|t| t == tag) {
                tags.push(tag.to_owned());
            }
        }
        Ok(Self(tags))
    }
}

/// Tags as JSON accepts them: `"a,b"` or `["a","b"]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum TagsInput {
    Csv(String),
    List(Vec<String>),
}

impl TagsInput {
    pub fn parse(&self) -> Result<Tags, Invalid> {
        match self {
            TagsInput::Csv(s) => Tags::parse_csv(s),
            TagsInput::List(items) => Tags::parse_list(items),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_and_lowercased() {
        assert_eq!(Email::parse(" Admin@Example.COM ").unwrap().0, "admin@example.com");
        assert!(Email::parse("admin@localhost").is_ok());
        for bad in ["", "no-at", "@x", "x@", "a b@c", "a@b@c", "a@.b", "é@x.y"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tags_accept_csv_and_lists_and_refuse_malformed_ones() {
        assert_eq!(Tags::parse_csv("hero, homepage,hero").unwrap().0, ["hero", "homepage"]);
        assert_eq!(Tags::parse_csv("").unwrap().0, Vec::<String>::new());
        assert!(Tags::parse_csv("a,,b").is_err());
        assert!(Tags::parse_csv("<script>").is_err());
        assert!(Tags::parse_csv(&"x".repeat(65)).is_err());
        assert!(Tags::parse_list(&(0..33).map(|i| i.to_string()).collect::<Vec<_>>()).is_err());
    }
}
