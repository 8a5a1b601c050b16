//! General-purpose registers of a thread, in the kernel's `user_regs_struct`
//! order (the layout of `NT_PRSTATUS` and of `PTRACE_GETREGSET`).

use crate::Endian;

/// Target architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// x86-64.
    Amd64,
    /// AArch64.
    Arm64,
}

/// Register names of amd64 `user_regs_struct`, in order.
pub const AMD64_NAMES: [&str; 27] = [
    "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi",
    "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs",
    "gs",
];

/// Register names of arm64 `user_pt_regs`, in order.
pub const ARM64_NAMES: [&str; 34] = [
    "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14",
    "x15", "x16", "x17", "x18", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27",
    "x28", "x29", "x30", "sp", "pc", "pstate",
];

const MAX_REGS: usize = 34;

/// The general-purpose registers of one thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registers {
    arch: Arch,
    values: [u64; MAX_REGS],
}

impl Arch {
    /// Number of 8-byte registers in `user_regs_struct`.
    pub fn reg_count(self) -> usize {
        match self {
            Arch::Amd64 => AMD64_NAMES.len(),
            Arch::Arm64 => ARM64_NAMES.len(),
        }
    }
    /// Register names in `user_regs_struct` order.
    pub fn names(self) -> &'static [&'static str] {
        match self {
            Arch::Amd64 => &AMD64_NAMES,
            Arch::Arm64 => &ARM64_NAMES,
        }
    }
    /// Size of `struct elf_prstatus` for this architecture.
    pub(crate) fn prstatus_size(self) -> usize {
        // 112 bytes before pr_reg, then pr_reg, then pr_fpvalid (4) and padding to 8.
        112 + self.reg_count() * 8 + 8
    }
    /// The ELF `e_machine` value.
    pub(crate) fn machine(self) -> u16 {
        match self {
            Arch::Amd64 => object::elf::EM_X86_64.0,
            Arch::Arm64 => object::elf::EM_AARCH64.0,
        }
    }
}

impl Registers {
    /// Decodes `user_regs_struct` bytes; `None` if `raw` is too short.
    pub fn from_bytes(arch: Arch, raw: &[u8], endian: Endian) -> Option<Registers> {
        let n = arch.reg_count();
        let raw = raw.get(..n * 8)?;
        let mut values = [0u64; MAX_REGS];
        for (v, c) in values.iter_mut().zip(raw.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            *v = endian.u64(b);
        }
        Some(Registers { arch, values })
    }

    /// Builds registers from values in `user_regs_struct` order (extra values are ignored, missing are 0).
    pub fn from_values(arch: Arch, vals: &[u64]) -> Registers {
        let mut values = [0u64; MAX_REGS];
        for (v, x) in values.iter_mut().zip(vals.iter().take(arch.reg_count())) {
            *v = *x;
        }
        Registers { arch, values }
    }

    /// Encodes as little-endian `user_regs_struct` bytes.
    pub fn to_le_bytes(&self) -> Vec<u8> {
        self.values().iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// The architecture.
    pub fn arch(&self) -> Arch {
        self.arch
    }
    /// All values in `user_regs_struct` order.
    pub fn values(&self) -> &[u64] {
        &self.values[..self.arch.reg_count()]
    }
    /// A register by its kernel name (`rip`, `rsp`, `x29`, `pc`).
    pub fn get(&self, name: &str) -> Option<u64> {
        let i = self.arch.names().iter().position(|n| *n == name)?;
        self.values.get(i).copied()
    }
    /// Program counter.
    pub fn pc(&self) -> u64 {
        match self.arch {
            Arch::Amd64 => self.values[16],
            Arch::Arm64 => self.values[32],
        }
    }
    /// Stack pointer.
    pub fn sp(&self) -> u64 {
        match self.arch {
            Arch::Amd64 => self.values[19],
            Arch::Arm64 => self.values[31],
        }
    }
    /// Frame pointer (rbp / x29).
    pub fn fp(&self) -> u64 {
        match self.arch {
            Arch::Amd64 => self.values[4],
            Arch::Arm64 => self.values[29],
        }
    }
    /// Thread-local storage base (fs_base on amd64, tpidr is not in the set on arm64: 0).
    pub fn tls_base(&self) -> u64 {
        match self.arch {
            Arch::Amd64 => self.values[21],
            Arch::Arm64 => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amd64_and_arm64_accessors() {
        let vals: Vec<u64> = (0..34).map(|i| 0x1000 + i).collect();
        let raw: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
        let a = Registers::from_bytes(Arch::Amd64, &raw, Endian::Little).expect("27 regs");
        assert_eq!((a.pc(), a.sp(), a.fp()), (0x1010, 0x1013, 0x1004));
        assert_eq!(a.get("rip"), Some(0x1010));
        assert_eq!(a.values().len(), 27);
        assert_eq!(a.to_le_bytes(), raw[..27 * 8]);
        let r = Registers::from_bytes(Arch::Arm64, &raw, Endian::Little).expect("34 regs");
        assert_eq!((r.pc(), r.sp(), r.fp()), (0x1020, 0x101f, 0x101d));
        assert_eq!(r.get("x30"), Some(0x101e));
        assert!(Registers::from_bytes(Arch::Arm64, &raw[..100], Endian::Little).is_none());
        assert_eq!(Arch::Amd64.prstatus_size(), 336);
        assert_eq!(Arch::Arm64.prstatus_size(), 392);
    }
}
