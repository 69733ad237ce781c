//! Whether a failure's reason shows in its timing (SPEC §9, BAD-INPUTS "Signed URLs"): a login with
//! a wrong password, with an unknown email and with the right password, over HTTP; and signature
//! checks with a mismatch at the first and at the last byte, in process. Samples of each case are
//! interleaved, so that drift in the machine's load falls on all of them alike.

use std::time::{Duration, Instant};

use imgcloud_core::signing::Signer;
use serde_json::json;

use crate::{
    load::percentile,
    server::{TestServer, ADMIN},
};

pub async fn bench(samples: usize) {
    let samples = samples.max(1);
    let server = TestServer::start().await;
    let cases = [
        ("login, wrong password (401)", ADMIN.0, "not-the-password-1", 401),
        ("login, unknown email (401)", "nobody@example.com", "not-the-password-1", 401),
        ("login, right password (200)", ADMIN.0, ADMIN.1, 200),
    ];
    let mut times = vec![Vec::with_capacity(samples); cases.len()];
    for _ in 0..samples {
        for (case, (_, email, password, status)) in cases.iter().enumerate() {
            let started = Instant::now();
            let response = server
                .client
                .post(format!("{}/v1/auth/login", server.base))
                .json(&json!({ "email": email, "password": password }))
                .send()
                .await
                .expect("the server answers");
            assert_eq!(response.status().as_u16(), *status, "{}", cases[case].0);
            times[case].push(started.elapsed());
        }
    }
    for ((what, ..), times) in cases.iter().zip(&mut times) {
        print_summary(what, times);
    }
    server.stop().await;

    const REVISION: &str = "0123456789abcdef0123456789abcdef";
    let signer = Signer::new(b"a-benchmark-signing-secret-of-32").expect("a 32-byte secret");
    let (path, expires) = ("/v1/image/w_400,h_400,c_fill,f_webp/photo-3a7f9c81b2e4", 1_900_000_000);
    let good = signer.sign(path, expires, Some(REVISION));
    assert!(signer.verify(path, expires, Some(REVISION), &good));
    let flip = |at: usize| {
        let mut sig = good.clone().into_bytes();
        sig[at] = if sig[at] == b'A' { b'B' } else { b'A' };
        String::from_utf8(sig).expect("base64url stays ASCII")
    };
    // The last character of 32 bytes in unpadded base64url holds only 4 bits of the MAC: flip the
    // one before it, which lies inside the final byte.
    let sigs = [("signature, 1st byte wrong", flip(0)), ("signature, last byte wrong", flip(good.len() - 2))];
    let rounds = samples * 1_000;
    let mut times = vec![Vec::with_capacity(rounds); sigs.len()];
    for _ in 0..rounds {
        for (case, (_, sig)) in sigs.iter().enumerate() {
            let started = Instant::now();
            assert!(!std::hint::black_box(signer.verify(path, expires, Some(REVISION), std::hint::black_box(sig))));
            times[case].push(started.elapsed());
        }
    }
    for ((what, _), times) in sigs.iter().zip(&mut times) {
        print_summary(what, times);
    }
}

fn print_summary(what: &str, times: &mut [Duration]) {
    times.sort_unstable();
    let at = |p: f64| percentile(times, p).expect("at least one sample");
    let show = |d: Duration| match d.as_nanos() {
        ns if ns < 100_000 => format!("{ns} ns"),
        _ => format!("{:.2} ms", d.as_secs_f64() * 1e3),
    };
    println!(
        "{what}: {} samples, p10 {}, median {}, p90 {}",
        times.len(),
        show(at(0.10)),
        show(at(0.50)),
        show(at(0.90))
    );
}
