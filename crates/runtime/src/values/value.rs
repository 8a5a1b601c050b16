//! The value tree: what a Go variable is, as data. A [`Value`] has a
//! [`Kind`], a Go type name, an address, its scalar payload as typed data
//! ([`Scalar`]), its children (fields, elements, map keys and values in
//! pairs, a pointer's target, an interface's dynamic value), loaded up to
//! the [`super::LoadConfig`]'s limits, and when it cannot be read, why.
//!
//! Nothing here is any debugger's wire format: `gosleuth-dlvrpc` turns a
//! tree into Delve's `api.Variable` (with Delve's strings), and other
//! front ends can render it their own way.

/// What a value is: Go's `reflect.Kind`, with Go's numbering. Every
/// signed integer is read as [`Kind::Int`] and every unsigned one as
/// [`Kind::Uint`], whatever its size (the type name says which).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum Kind {
    /// No value: a nil interface's data, a type DWARF does not describe.
    #[default]
    Invalid = 0,
    Bool = 1,
    Int = 2,
    Int8 = 3,
    Int16 = 4,
    Int32 = 5,
    Int64 = 6,
    Uint = 7,
    Uint8 = 8,
    Uint16 = 9,
    Uint32 = 10,
    Uint64 = 11,
    Uintptr = 12,
    Float32 = 13,
    Float64 = 14,
    Complex64 = 15,
    Complex128 = 16,
    Array = 17,
    Chan = 18,
    Func = 19,
    Interface = 20,
    Map = 21,
    Ptr = 22,
    Slice = 23,
    String = 24,
    Struct = 25,
    UnsafePointer = 26,
}

impl Kind {
    /// `reflect.Kind.String()`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Invalid => "invalid",
            Kind::Bool => "bool",
            Kind::Int => "int",
            Kind::Int8 => "int8",
            Kind::Int16 => "int16",
            Kind::Int32 => "int32",
            Kind::Int64 => "int64",
            Kind::Uint => "uint",
            Kind::Uint8 => "uint8",
            Kind::Uint16 => "uint16",
            Kind::Uint32 => "uint32",
            Kind::Uint64 => "uint64",
            Kind::Uintptr => "uintptr",
            Kind::Float32 => "float32",
            Kind::Float64 => "float64",
            Kind::Complex64 => "complex64",
            Kind::Complex128 => "complex128",
            Kind::Array => "array",
            Kind::Chan => "chan",
            Kind::Func => "func",
            Kind::Interface => "interface",
            Kind::Map => "map",
            Kind::Ptr => "ptr",
            Kind::Slice => "slice",
            Kind::String => "string",
            Kind::Struct => "struct",
            Kind::UnsafePointer => "unsafe.Pointer",
        }
    }

    /// An integer kind of any size and sign.
    pub fn is_integer(self) -> bool {
        (Kind::Int as u8..=Kind::Uintptr as u8).contains(&(self as u8))
    }
}

/// What else is known of a variable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VarFlags {
    /// A local variable that escaped to the heap (shown dereferenced).
    pub escaped: bool,
    /// Shadowed by a variable of the same name in an inner scope.
    pub shadowed: bool,
    /// A constant (a literal or the result of `len`).
    pub constant: bool,
    /// A function argument.
    pub argument: bool,
    /// A function result.
    pub return_argument: bool,
    /// `addr` is made up: the value was assembled from registers.
    pub fake_address: bool,
}

impl VarFlags {
    /// An argument or a result of the frame's function.
    pub fn is_parameter(self) -> bool {
        self.argument || self.return_argument
    }
}

impl std::ops::BitOrAssign for VarFlags {
    fn bitor_assign(&mut self, o: VarFlags) {
        self.escaped |= o.escaped;
        self.shadowed |= o.shadowed;
        self.constant |= o.constant;
        self.argument |= o.argument;
        self.return_argument |= o.return_argument;
        self.fake_address |= o.fake_address;
    }
}

/// The scalar payload of a value.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Scalar {
    /// Composite values, nil functions, unreadable values.
    #[default]
    None,
    Bool(bool),
    /// Any signed integer, sign-extended.
    Int(i64),
    /// Any unsigned integer.
    Uint(u64),
    Float32(f32),
    Float64(f64),
    /// Real and imaginary parts.
    Complex64(f32, f32),
    Complex128(f64, f64),
    /// A string's first bytes (up to the load limit; `len` is the whole
    /// length), invalid UTF-8 as U+FFFD.
    Str(String),
    /// A pointer's (or `unsafe.Pointer`'s) target address.
    Addr(u64),
    /// The name of the function a func value calls.
    Func(String),
    /// A `time.Time`: Unix seconds, and the monotonic clock reading
    /// (nanoseconds) when it has one.
    Time {
        unix: i64,
        monotonic: Option<i64>,
    },
}

/// A Go value read from memory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Value {
    /// The variable's or field's name (empty for elements, targets).
    pub name: String,
    pub addr: u64,
    /// Only the address (and headers: lengths, base) were read: the value
    /// itself was not loaded (a pointer not followed, beyond the depth).
    pub only_addr: bool,
    /// Go type name (`*main.MyError`, `error`, `[]int`).
    pub type_name: String,
    /// The dynamic type for interfaces, else the same as `type_name`.
    pub real_type: String,
    pub flags: VarFlags,
    pub kind: Kind,
    pub scalar: Scalar,
    /// The constants of the value's named type it equals (`TypeCount`, or
    /// bit flags joined: `FlagA|FlagB`).
    pub constant: Option<String>,
    /// Elements (arrays, slices, maps, channels), bytes (strings), fields
    /// (structs), captured variables (closures).
    pub len: i64,
    pub cap: i64,
    /// Fields; elements; keys and values alternating (maps); the target
    /// (pointers); the dynamic value (interfaces); the header's fields
    /// (channels); real and imaginary parts (complex numbers).
    pub children: Vec<Value>,
    /// Address of the underlying data (strings, slices, maps, channels).
    pub base: u64,
    /// Why the value cannot be read, when it cannot.
    pub unreadable: Option<String>,
    /// Where the variable's bytes are (`stack 0xc000...`, `register rax`).
    pub location: String,
    /// Line of the declaration.
    pub decl_line: i64,
}

impl Value {
    /// True when the value was read.
    pub fn is_readable(&self) -> bool {
        self.unreadable.is_none()
    }

    /// An integer's value, signed or not.
    pub fn as_integer(&self) -> Option<i128> {
        match self.scalar {
            Scalar::Int(n) => Some(i128::from(n)),
            Scalar::Uint(n) => Some(i128::from(n)),
            _ => None,
        }
    }

    /// A child by name (a struct's field, a channel header's field).
    pub fn child(&self, name: &str) -> Option<&Value> {
        self.children.iter().find(|c| c.name == name)
    }
}
