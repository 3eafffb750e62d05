//! Human tables by default, JSON with --json.

use serde::Serialize;

/// Prints `value` as pretty JSON.
pub fn json<T: Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("serializable output")
    );
}

/// Prints rows under a header, columns padded to their widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    println!("{}", line(header.iter().map(|h| (*h).to_owned()).collect()));
    println!("{}", line(widths.iter().map(|w| "-".repeat(*w)).collect()));
    for row in rows {
        println!("{}", line(row.clone()));
    }
    if rows.is_empty() {
        println!("(none)");
    }
}

/// Prints JSON rows as a table: one column per (header, key); strings shown as they are.
pub fn rows(columns: &[(&str, &str)], rows: &[serde_json::Value]) {
    let header: Vec<&str> = columns.iter().map(|(h, _)| *h).collect();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            columns
                .iter()
                .map(|(_, k)| match &r[*k] {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => String::new(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect();
    table(&header, &cells);
}
