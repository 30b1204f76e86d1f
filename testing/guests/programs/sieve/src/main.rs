//! `sieve(n)`: the number of primes `p <= n`, by the sieve of Eratosthenes.
//!
//! `n` comes in the first argument register (`a0`, GP `ω7`) and the count
//! goes back in the same register. `n` is clamped to [`MAX_N`]; a larger `n`
//! returns `u64::MAX` so a caller cannot mistake it for a count.

#![no_std]
#![no_main]

/// The largest `n` the sieve's static table holds.
const MAX_N: usize = 1 << 20;

/// One byte per odd number `2i + 1`: non-zero once it is known composite.
static mut COMPOSITE: [u8; MAX_N / 2 + 1] = [0; MAX_N / 2 + 1];

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // SAFETY: `unimp` traps, which is what a guest panic should do.
    unsafe { core::arch::asm!("unimp", options(noreturn)) }
}

#[polkavm_derive::polkavm_export]
extern "C" fn main(n: u64) -> u64 {
    if n > MAX_N as u64 {
        return u64::MAX;
    }
    #[allow(clippy::cast_possible_truncation)]
    let n = n as usize;
    if n < 2 {
        return 0;
    }
    // SAFETY: the guest is single-threaded and this is the only reference.
    let composite = unsafe { &mut *core::ptr::addr_of_mut!(COMPOSITE) };
    let half = n / 2 + 1;
    composite[..half].fill(0);
    // 2 is prime; count the odd primes 3, 5, ... <= n.
    let mut count = 1_u64;
    let mut i = 3;
    while i <= n {
        if composite[i / 2] == 0 {
            count += 1;
            let mut j = i * i;
            while j <= n {
                composite[j / 2] = 1;
                j += 2 * i;
            }
        }
        i += 2;
    }
    count
}
