//! One render per variant at a time: concurrent first requests for the same key wait for the
//! first one's result instead of rendering it again.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, Weak},
};

#[derive(Default)]
pub struct KeyedLocks {
    locks: Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
}

impl KeyedLocks {
    /// The lock of `key`, shared by everyone who asks for it while anyone holds it.
    pub fn lock_for(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(lock) = locks.get(key).and_then(Weak::upgrade) {
            return lock;
        }
        if locks.len() >= 1024 {
            locks.retain(|_, weak| weak.strong_count() > 0);
        }
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        locks.insert(key.to_owned(), Arc::downgrade(&lock));
        lock
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_key_one_lock_while_held() {
        let locks = KeyedLocks::default();
        let a = locks.lock_for("x");
        assert!(Arc::ptr_eq(&a, &locks.lock_for("x")));
        assert!(!Arc::ptr_eq(&a, &locks.lock_for("y")));
        drop(a);
        let b = locks.lock_for("x");
        assert_eq!(Arc::strong_count(&b), 1, "a released key starts afresh");
    }
}
