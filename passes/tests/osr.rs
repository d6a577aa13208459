//! On-stack entries (`lazyjit_passes::osr::entry_at`): the entry's MIR, its sources and
//! the cases it declines.

use lazyjit_ir::rt::Tag;
use lazyjit_ir::{parse_module, print_module, verify_function, Block, Module, Value};
use lazyjit_passes::osr::{entry_at, Decline};

/// `sum(n)`: a counted loop whose sum is a `val` and whose bound comes from before it.
const SUM: &str = r#"module "osr"

function fn0 "sum" (params 1, sites 2) {
block0(v0: val):
    v1 = const 0
    v2 = iconst 1
    jump block1(v2, v1)
block1(v3: i64, v4: val) loop:
    v5 = box.int v3
    v6 = rtcall @lua.le(v5, v0) -> i1, site0
    brif v6, block2, block3
block2:
    v7 = rtcall @lua.add(v4, v5) -> val, site1
    v8 = iadd v3, v2
    jump block1(v8, v7)
block3:
    return v4
}
"#;

fn module(text: &str) -> Module {
    parse_module(text).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_entry_starts_at_the_header_with_the_live_values_as_parameters() {
    let mut m = module(SUM);
    // At the back edge: v3 (the counter, i64) and v4 (the sum, an int), and the live
    // value from before the loop v0 (the bound, an int); the step v2 is a constant,
    // made again.
    let tag_of = |v: Value| if v == Value::new(0) || v == Value::new(4) || v == Value::new(3) || v == Value::new(2) { Tag::Int } else { Tag::Nil };
    let entry = entry_at(&m.functions[0], Block::new(1), tag_of).expect("an entry");
    let froms: Vec<(u32, Tag)> = entry.from.iter().map(|&(v, t)| (v.index() as u32, t)).collect();
    assert_eq!(froms, vec![(3, Tag::Int), (4, Tag::Int), (0, Tag::Int)]);
    let g = entry.function;
    assert_eq!(g.params, 3);
    m.functions[0] = g;
    if let Err(errors) = verify_function(&m, &m.functions[0]) {
        panic!("{errors:?}\n{}", print_module(&m));
    }
    let text = print_module(&m);
    // The old entry is gone; the header, the loop and the exit keep their numbers, and
    // the values from before the loop keep theirs (now unboxed from the parameters).
    let expected = "block0(v9: val, v11: val, v14: val):
    inst10: v10 = unbox.int v9
    v12 = unbox.int v11
    v13 = box.int v12
    v15 = unbox.int v14
    v0 = box.int v15
    v2 = iconst 1
    jump block1(v10, v13)
block1(v3: i64, v4: val) loop:";
    assert!(text.contains(expected), "{text}");
    assert!(text.contains("block3:\n    return v4\n"), "{text}");
}

#[test]
fn values_that_are_not_numbers_become_parameters_themselves() {
    let mut m = module(SUM);
    let tag_of = |v: Value| if v == Value::new(3) || v == Value::new(2) { Tag::Int } else { Tag::Table };
    m.functions[0] = entry_at(&m.functions[0], Block::new(1), tag_of).expect("an entry").function;
    let text = print_module(&m);
    assert!(text.contains("block0(v9: val, v11: val, v0: val):"), "{text}");
    assert!(text.contains("jump block1(v10, v11)"), "{text}");
}

#[test]
fn it_declines_blocks_that_head_no_loop() {
    let m = module(SUM);
    let any = |_: Value| Tag::Int;
    assert_eq!(entry_at(&m.functions[0], Block::new(2), any).err(), Some(Decline::NotAHeader(Block::new(2))));
    assert_eq!(entry_at(&m.functions[0], Block::new(0), any).err(), Some(Decline::NotAHeader(Block::new(0))));
    let nested = module(
        r#"module "osr"

function fn0 "nested" (params 1) {
block0(v0: val):
    v1 = iconst 0
    v2 = iconst 1
    jump block1(v1)
block1(v3: i64) loop:
    v4 = box.int v3
    jump block2(v1)
block2(v5: i64) loop:
    v6 = icmp.lt v5, v3
    v7 = iadd v5, v2
    brif v6, block2(v7), block3
block3:
    v8 = iadd v3, v2
    v9 = icmp.lt v8, v2
    brif v9, block1(v8), block4
block4:
    return v4
}
"#,
    );
    assert!(entry_at(&nested.functions[0], Block::new(1), any).is_ok());
}

/// Two nested counted loops: the inner one's bound is the outer one's counter.
const NESTED: &str = r#"module "osr"

function fn0 "nested" (params 1) {
block0(v0: val):
    v1 = iconst 0
    v2 = iconst 1
    jump block1(v1, v1)
block1(v3: i64, v10: i64) loop:
    v4 = box.int v3
    jump block2(v1, v10)
block2(v5: i64, v11: i64) loop:
    v6 = icmp.lt v5, v3
    v7 = iadd v5, v2
    v12 = iadd v11, v3
    brif v6, block2(v7, v12), block3
block3:
    v8 = iadd v3, v2
    v9 = icmp.lt v8, v2
    brif v9, block1(v8, v11), block4
block4:
    return v4
}
"#;

#[test]
fn a_nested_loop_is_entered_through_a_copy() {
    let mut m = module(NESTED);
    let any = |_: Value| Tag::Int;
    // The inner loop's counter and sum (v5, v11), and the outer loop's counter and its
    // box (v3, v4, defined again on each outer trip); the constants v1 and v2 are made
    // again in block 0.
    let entry = entry_at(&m.functions[0], Block::new(2), any).expect("an entry");
    let froms: Vec<u32> = entry.from.iter().map(|&(v, _)| v.index() as u32).collect();
    assert_eq!(froms, vec![5, 11, 3, 4]);
    // Block 0 enters a copy of the inner loop (block 5), which runs the rest of the
    // loop's current run; later runs go through the original, nested in the outer loop
    // again.
    assert_eq!(entry.copied_from, vec![(Block::new(5), Block::new(2))]);
    let stands = |v: u32| entry.stands_for.iter().find(|&&(p, _)| p.index() as u32 == v).map(|&(_, g)| g.index() as u32);
    m.functions[0] = entry.function.clone();
    if let Err(errors) = verify_function(&m, &m.functions[0]) {
        panic!("{errors:?}\n{}", print_module(&m));
    }
    let text = print_module(&m);
    assert!(text.contains("    v1 = iconst 0\n    v2 = iconst 1\n"), "{text}");
    assert!(text.contains("jump block5(v14, v16)"), "{text}");
    // The copy reads block 0's outer counter (v18) where the loop reads v3, and leaves
    // for the code after the loop with block 0's values.
    assert!(text.contains("block5(v22: i64, v23: i64) loop:\n    inst20: v24 = icmp.lt v22, v18\n"), "{text}");
    assert!(text.contains("brif v24, block5(v25, v26), block3(v18, v21, v23)"), "{text}");
    assert_eq!((stands(18), stands(21), stands(22), stands(23)), (Some(3), Some(4), Some(5), Some(11)));
    // The original stays an inner loop; the code after it takes the values that differ
    // between the two ways in as parameters.
    assert!(text.contains("block1(v3: i64, v10: i64) loop:\n    inst3: v4 = box.int v3\n    jump block2(v1, v10)\n"), "{text}");
    assert!(text.contains("brif v6, block2(v7, v12), block3(v3, v4, v11)"), "{text}");
    assert!(text.contains("block3(v27: i64, v28: val, v29: i64):\n    v8 = iadd v27, v2\n"), "{text}");
    assert!(text.contains("brif v9, block1(v8, v29), block4\nblock4:\n    return v28\n"), "{text}");
    assert_eq!((stands(27), stands(28), stands(29)), (Some(3), Some(4), Some(11)));
}

#[test]
fn an_entered_loop_nested_in_none_is_not_copied() {
    let m = module(SUM);
    let entry = entry_at(&m.functions[0], Block::new(1), |_| Tag::Int).expect("an entry");
    assert!(entry.copied_from.is_empty());
    assert!(entry.function.blocks.len() == m.functions[0].blocks.len());
}
