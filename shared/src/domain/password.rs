//! Passwords: the policy (8–256 characters, not a common one) and argon2id hashing with OWASP's
//! parameters (m=19456 KiB, t=2, p=1). Hashing is slow on purpose: call it off the async runtime.

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};

const MIN_CHARS: usize = 8;
const MAX_CHARS: usize = 256;

pub fn check_policy(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if !(MIN_CHARS..=MAX_CHARS).contains(&chars) {
        return Err(format!("password must be {MIN_CHARS} to {MAX_CHARS} characters long"));
    }
    let lowered = password.to_lowercase();
    let common = include_str!("common-passwords.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .any(|l| l.eq_ignore_ascii_case(&lowered));
    if common {
        return Err("password is too common; choose another".into());
    }
    Ok(())
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("OWASP argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing cannot fail with valid parameters")
        .to_string()
}

/// Whether `password` matches `phc`; a malformed stored hash never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| argon2().verify_password(password.as_bytes(), &parsed).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_refuses_short_long_and_common_passwords() {
        assert!(check_policy("short").is_err());
        assert!(check_policy(&"x".repeat(257)).is_err());
        assert!(check_policy("Password123").is_err());
        assert!(check_policy("QWERTYUIOP").is_err());
        assert!(check_policy("correct horse battery").is_ok());
        assert!(check_policy(&"ü".repeat(256)).is_ok());
    }

    #[test]
    fn hashes_with_argon2id_and_verifies() {
        let phc = hash("correct horse battery");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse battery", &phc));
        assert!(!verify("correct horse batterx", &phc));
        assert!(!verify("anything", "not a hash"));
    }
}
