//! Host objects: heap object kinds a frontend defines and registers with the collector.
//!
//! The built-in kinds (strings, tables, closures, cells, packs) cover what MIR's own
//! operations need. A language usually has more (pairs, records, byte buffers, boxed
//! big numbers); it defines each as a Rust type implementing [`HostObject`], registers
//! it once per VM ([`crate::interp::Vm::register_kind`]) and allocates values of it
//! with [`crate::interp::Vm::new_object`]. Such a value has the tag
//! [`Tag::Object`](super::Tag::Object): MIR moves it, compares it by identity and
//! guards on its tag like any other value, and runtime functions read it back with
//! [`crate::interp::Vm::object`].
//!
//! The collector treats a host object as it treats its own: it is found through the
//! roots, kept while reachable, traced through [`HostObject::trace`] (which marks every
//! value the object holds) and dropped (Rust's `Drop`) when unreachable. One allocation
//! holds the header and the value ([`HostBox`]); the per-type functions the collector
//! calls sit in a static table made for each type, so no trait object is boxed.

use std::any::TypeId;

use super::gc::{GcHeader, Kind, Marker};

/// A frontend's heap object type.
///
/// ```
/// use lazyjit_ir::rt::gc::Marker;
/// use lazyjit_ir::rt::host::HostObject;
/// use lazyjit_ir::rt::Val;
///
/// /// A pair of values (a Lisp cons cell).
/// struct Pair {
///     car: Val,
///     cdr: Val,
/// }
///
/// impl HostObject for Pair {
///     fn trace(&self, marker: &mut Marker) {
///         marker.mark_val(self.car);
///         marker.mark_val(self.cdr);
///     }
/// }
/// ```
pub trait HostObject: 'static {
    /// Marks every value the object refers to ([`Marker::mark_val`]); a value not
    /// marked here may be freed while the object still holds it.
    fn trace(&self, marker: &mut Marker);

    /// Bytes the object owns outside its own allocation (a vector's buffer, say), for
    /// the collection heuristic. The default is 0.
    fn extra_bytes(&self) -> usize {
        0
    }
}

/// A registered host object kind: its number in the VM's kind table
/// ([`crate::interp::Vm::register_kind`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ObjectKind(pub(crate) u32);

impl ObjectKind {
    /// The kind's number (registration order, from 0).
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// What the VM knows of a registered kind.
pub(crate) struct KindInfo {
    pub name: &'static str,
    pub type_id: TypeId,
}

/// The collector's functions for one host object type.
pub struct HostVtable {
    trace: unsafe fn(*mut GcHeader, &mut Marker),
    size: unsafe fn(*mut GcHeader) -> usize,
    free: unsafe fn(*mut GcHeader),
    type_id: fn() -> TypeId,
}

/// A host object in the heap: the common header, its kind and the value.
#[repr(C)]
pub struct HostBox<T> {
    hdr: GcHeader,
    kind: ObjectKind,
    vtable: &'static HostVtable,
    /// The frontend's value.
    pub value: T,
}

impl<T: HostObject> HostBox<T> {
    const VTABLE: HostVtable = HostVtable {
        trace: |p, m| {
            // SAFETY: the vtable is only reachable from a `HostBox<T>`.
            unsafe { (*(p as *mut HostBox<T>)).value.trace(m) }
        },
        size: |p| {
            // SAFETY: as above.
            std::mem::size_of::<HostBox<T>>() + unsafe { (*(p as *mut HostBox<T>)).value.extra_bytes() }
        },
        free: |p| {
            // SAFETY: allocated by `HostBox::new` as a `Box<HostBox<T>>`.
            drop(unsafe { Box::from_raw(p as *mut HostBox<T>) })
        },
        type_id: TypeId::of::<T>,
    };

    /// A new object of `kind` (not yet owned by a heap).
    pub(crate) fn new(kind: ObjectKind, value: T) -> Box<HostBox<T>> {
        Box::new(HostBox { hdr: GcHeader::new(Kind::Host), kind, vtable: &Self::VTABLE, value })
    }
}

/// The kind of the host object at `p`.
///
/// # Safety
/// `p` must point to a live host object.
pub(crate) unsafe fn kind_of(p: *mut GcHeader) -> ObjectKind {
    // SAFETY: every host object starts like `HostBox<()>` (`repr(C)`).
    unsafe { (*(p as *mut HostBox<()>)).kind }
}

/// The value of the host object at `p` if it is a `T`.
///
/// # Safety
/// `p` must point to a live host object.
pub(crate) unsafe fn value_of<'a, T: HostObject>(p: *mut GcHeader) -> Option<&'a mut T> {
    // SAFETY: the prefix is common to every `HostBox`; the type check makes the cast right.
    unsafe {
        let vtable = (*(p as *mut HostBox<()>)).vtable;
        ((vtable.type_id)() == TypeId::of::<T>()).then(|| &mut (*(p as *mut HostBox<T>)).value)
    }
}

/// Marks what the host object at `p` refers to.
///
/// # Safety
/// `p` must point to a live host object.
pub(crate) unsafe fn trace(p: *mut GcHeader, m: &mut Marker) {
    // SAFETY: as in `value_of`.
    unsafe { ((*(p as *mut HostBox<()>)).vtable.trace)(p, m) }
}

/// Bytes the host object at `p` accounts for.
///
/// # Safety
/// `p` must point to a live host object.
pub(crate) unsafe fn size(p: *mut GcHeader) -> usize {
    // SAFETY: as in `value_of`.
    unsafe { ((*(p as *mut HostBox<()>)).vtable.size)(p) }
}

/// Frees the host object at `p`.
///
/// # Safety
/// `p` must point to a host object nothing uses any more.
pub(crate) unsafe fn free(p: *mut GcHeader) {
    // SAFETY: as in `value_of`.
    unsafe { ((*(p as *mut HostBox<()>)).vtable.free)(p) }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;

    use super::HostObject;
    use crate::interp::{access, Vm};
    use crate::rt::gc::Marker;
    use crate::rt::{Tag, Val};

    struct Pair {
        car: Val,
        drops: Rc<Cell<u32>>,
    }

    impl HostObject for Pair {
        fn trace(&self, marker: &mut Marker) {
            marker.mark_val(self.car);
        }
        fn extra_bytes(&self) -> usize {
            100
        }
    }

    impl Drop for Pair {
        fn drop(&mut self) {
            self.drops.set(self.drops.get() + 1);
        }
    }

    struct Other;

    impl HostObject for Other {
        fn trace(&self, _: &mut Marker) {}
    }

    #[test]
    fn objects_are_traced_kept_and_dropped() {
        let drops = Rc::new(Cell::new(0));
        let mut vm = Vm::new(None);
        let kind = vm.register_kind::<Pair>("pair");
        assert_eq!(vm.register_kind::<Pair>("pair"), kind, "registering again gives the same kind");
        assert_ne!(vm.register_kind::<Other>("other"), kind);
        let s = vm.new_str(b"kept through the pair");
        let kept = vm.new_object(kind, Pair { car: s, drops: drops.clone() });
        vm.registry.push(kept);
        let lost = vm.new_str(b"lost");
        let _ = vm.new_object(kind, Pair { car: lost, drops: drops.clone() });
        let before = vm.heap.object_count();
        vm.collect_garbage();
        assert_eq!(drops.get(), 1, "the unreachable pair is dropped");
        assert_eq!(vm.heap.object_count(), before - 2, "with the string only it held");
        let pair = vm.object::<Pair>(kept).expect("a pair");
        assert_eq!(access::bytes_of(pair.car), b"kept through the pair");
        assert!(vm.heap.bytes >= 100, "extra bytes are accounted");
        vm.registry.clear();
        vm.collect_garbage();
        assert_eq!(drops.get(), 2);
    }

    #[test]
    fn values_are_read_back_only_as_their_type() {
        let mut vm = Vm::new(None);
        let kind = vm.register_kind::<Other>("other");
        let v = vm.new_object(kind, Other);
        assert_eq!(v.tag(), Tag::Object);
        assert!(vm.object::<Other>(v).is_some());
        assert!(vm.object::<Pair>(v).is_none());
        assert!(vm.object::<Other>(Val::int(3)).is_none());
        assert_eq!(vm.object_kind(v), Some(kind));
        assert_eq!(vm.object_kind(Val::NIL), None);
        assert_eq!(vm.kind_name(kind), "other");
    }

    #[test]
    #[should_panic(expected = "registered for another type")]
    fn a_kind_makes_only_its_type() {
        let mut vm = Vm::new(None);
        let kind = vm.register_kind::<Other>("other");
        let _ = vm.new_object(kind, Pair { car: Val::NIL, drops: Rc::default() });
    }
}
