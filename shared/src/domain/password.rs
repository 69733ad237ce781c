//! Passwords: the policy (8–256 characters, not a common one) and argon2id hashing with OWASP's
//! parameters (m=19456 KiB, t=2, p=1), slow on purpose: [`Passwords`] runs it off the async workers.

use std::sync::{Arc, Mutex};

use argon2::{
    password_hash::{self, rand_core::OsRng, Output, ParamsString, PasswordHash, Salt, SaltString},
    Algorithm, Argon2, Block, Params, Version,
};
use tokio::sync::{OnceCell, Semaphore};

use crate::{
    error::{ErrorCode, Invalid},
    secrets::random_token,
};

const MIN_CHARS: usize = 8;
const MAX_CHARS: usize = 256;

pub fn check_policy(password: &str) -> Result<(), Invalid> {
    check_rules(password).map_err(|message| Invalid::new(ErrorCode::InvalidPassword, message))
}

fn check_rules(password: &str) -> Result<(), String> {
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

/// Hashes and checks passwords on the blocking pool, at most one per core at a time, each in one
/// of a few reused blocks of Argon2 memory. A burst of logins then neither takes every core nor
/// grows the heap: with a fresh 19 MiB allocation per check, glibc kept the freed blocks in
/// per-thread arenas and the api function's RSS grew with each login (129 → 206 MiB in 11).
pub struct Passwords {
    permits: Arc<Semaphore>,
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
    /// Checked when a login names no user, so that both failures take the same time; made on
    /// first use (functions that never sign anyone in never pay for it), or by [`Self::prepare`].
    dummy_hash: OnceCell<String>,
}

impl Passwords {
    pub fn new(parallelism: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(parallelism.max(1))),
            memory: Arc::default(),
            dummy_hash: OnceCell::new(),
        }
    }

    /// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
    pub async fn hash(&self, password: String) -> String {
        self.run(move |memory| {
            let salt = SaltString::generate(&mut OsRng);
            let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, owasp_params());
            let output = compute(&argon2, password.as_bytes(), salt.as_salt(), Params::DEFAULT_OUTPUT_LEN, memory)
                .expect("argon2 hashing cannot fail with valid parameters");
            PasswordHash {
                algorithm: Algorithm::Argon2id.ident(),
                version: Some(Version::V0x13.into()),
                params: ParamsString::try_from(argon2.params()).expect("OWASP argon2 parameters encode"),
                salt: Some(salt.as_salt()),
                hash: Some(output),
            }
            .to_string()
        })
        .await
    }

    /// Whether `password` matches `phc`, or, with no `phc` (no such user), the same work against a
    /// dummy hash and `false`. A malformed stored hash never matches.
    pub async fn verify(&self, password: String, phc: Option<String>) -> bool {
        let (phc, exists) = match phc {
            Some(phc) => (phc, true),
            None => (self.dummy_hash().await.to_owned(), false),
        };
        let matches = self.run(move |memory| verify_with(password.as_bytes(), &phc, memory)).await;
        matches && exists
    }

    /// Makes the dummy hash now, so that not even the first unknown-email login takes longer.
    pub async fn prepare(&self) {
        self.dummy_hash().await;
    }

    async fn dummy_hash(&self) -> &str {
        self.dummy_hash.get_or_init(|| self.hash(random_token(16))).await
    }

    /// Runs `job` on the blocking pool with a permit and a block of memory, both held by the job
    /// itself: a caller that goes away (a client hanging up) frees neither before the job ends.
    async fn run<T: Send + 'static>(&self, job: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static) -> T {
        let permit = self.permits.clone().acquire_owned().await.expect("the semaphore is never closed");
        let pool = self.memory.clone();
        tokio::task::spawn_blocking(move || {
            let mut memory = pool.lock().expect("no panic while the pool is locked").pop().unwrap_or_default();
            let result = job(&mut memory);
            pool.lock().expect("no panic while the pool is locked").push(memory);
            drop(permit);
            result
        })
        .await
        .expect("password hashing does not panic")
    }
}

fn owasp_params() -> Params {
    Params::new(19_456, 2, 1, None).expect("OWASP argon2 parameters are valid")
}

/// Argon2 of `password` into `memory`, grown to the parameters' size if it is smaller.
fn compute(
    argon2: &Argon2,
    password: &[u8],
    salt: Salt,
    output_len: usize,
    memory: &mut Vec<Block>,
) -> password_hash::Result<Output> {
    let mut salt_bytes = [0u8; Salt::MAX_LENGTH];
    let salt = salt.decode_b64(&mut salt_bytes)?;
    let blocks = argon2.params().block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    Output::init_with(output_len, |out| {
        Ok(argon2.hash_password_into_with_memory(password, salt, out, &mut memory[..])?)
    })
}

/// What `PasswordVerifier::verify_password` does, with our memory: the stored hash's own
/// algorithm, version and parameters, compared in constant time (`Output`'s `Eq`).
fn verify_with(password: &[u8], phc: &str, memory: &mut Vec<Block>) -> bool {
    let mut check = || -> password_hash::Result<bool> {
        let stored = PasswordHash::new(phc)?;
        let (Some(expected), Some(salt)) = (stored.hash, stored.salt) else {
            return Ok(false);
        };
        let version = stored.version.map(Version::try_from).transpose()?.unwrap_or_default();
        let argon2 = Argon2::new(Algorithm::try_from(stored.algorithm)?, version, Params::try_from(&stored)?);
        Ok(compute(&argon2, password, salt, expected.len(), memory)? == expected)
    };
    check().unwrap_or(false)
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

    #[tokio::test]
    async fn hashes_with_argon2id_and_verifies() {
        let passwords = Passwords::new(2);
        let phc = passwords.hash("correct horse battery".into()).await;
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(passwords.verify("correct horse battery".into(), Some(phc.clone())).await);
        assert!(!passwords.verify("correct horse batterx".into(), Some(phc)).await);
        assert!(!passwords.verify("anything".into(), Some("not a hash".into())).await);
        assert!(!passwords.verify("anything".into(), None).await, "no user: never a match");
    }

    /// Hashes stored before the memory pool (made by the crate's own hasher), and hashes with other
    /// parameters than ours (a smaller and a larger memory than the pooled block), still verify.
    #[tokio::test]
    async fn verifies_the_argon2_crates_hashes_and_the_crate_verifies_ours() {
        use argon2::{PasswordHasher, PasswordVerifier};
        let passwords = Passwords::new(1);
        for params in
            [owasp_params(), Params::new(4_096, 1, 1, None).unwrap(), Params::new(32_768, 1, 2, None).unwrap()]
        {
            let crates = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password(b"correct horse battery", &SaltString::generate(&mut OsRng))
                .unwrap()
                .to_string();
            assert!(passwords.verify("correct horse battery".into(), Some(crates.clone())).await, "{crates}");
            assert!(!passwords.verify("correct horse batterx".into(), Some(crates)).await);
        }
        let ours = passwords.hash("correct horse battery".into()).await;
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"correct horse battery", &parsed).is_ok());
    }

    #[tokio::test]
    async fn a_burst_runs_one_per_permit_and_reuses_their_memory() {
        let passwords = Arc::new(Passwords::new(2));
        let phc = passwords.hash("correct horse battery".into()).await;
        let checks = (0..8).map(|i| {
            let (passwords, phc) = (passwords.clone(), phc.clone());
            let password = if i % 2 == 0 { "correct horse battery" } else { "wrong horse battery" };
            tokio::spawn(async move { (i, passwords.verify(password.into(), Some(phc)).await) })
        });
        for check in checks {
            let (i, matched) = check.await.unwrap();
            assert_eq!(matched, i % 2 == 0, "check {i}");
        }
        let pooled = passwords.memory.lock().unwrap();
        assert!((1..=2).contains(&pooled.len()), "{} blocks of memory for 2 permits", pooled.len());
        assert!(pooled.iter().all(|m| m.len() == owasp_params().block_count()));
    }
}
