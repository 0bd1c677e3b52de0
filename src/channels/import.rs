//! Reading another system's export row by row: CSV with the `csv` crate (streaming, each row
//! with its line), XLSX with `calamine` (the first sheet). Cells come out as text; numbers that
//! are whole (ticket numbers, phones typed as numbers in Excel) without a trailing `.0`.
use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};

use super::model::Format;

/// One row of the file: its line (1 is the header) and its cells.
pub type Row = (u64, Vec<String>);

/// A row, or why it cannot be read: (line, reason).
pub type RowResult = Result<Row, (u64, String)>;

/// The rows of the file, the header first. CSV is read lazily from the bytes; an XLSX sheet is
/// decoded whole by calamine (its cells are what the file holds, so the file's size bounds it).
pub fn rows(
    format: Format,
    bytes: &[u8],
) -> Result<Box<dyn Iterator<Item = RowResult> + Send + '_>, String> {
    match format {
        Format::Csv => Ok(Box::new(csv_rows(bytes))),
        Format::Xlsx => xlsx_rows(bytes)
            .map(|v| Box::new(v.into_iter()) as Box<dyn Iterator<Item = RowResult> + Send>),
    }
}

fn csv_rows(bytes: &[u8]) -> impl Iterator<Item = RowResult> + Send + '_ {
    // Excel writes a byte-order mark before UTF-8 CSV.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut record = csv::StringRecord::new();
    // The csv crate's own line numbers skip some line breaks (blank lines, breaks inside quoted
    // fields), so lines are counted here from the record's byte offset.
    let mut lines = LineCounter::new(bytes);
    std::iter::from_fn(move || {
        let before = reader.position().byte();
        match reader.read_record(&mut record) {
            Ok(false) => None,
            Ok(true) => {
                let start = record.position().map_or(before, csv::Position::byte);
                Some(Ok((
                    lines.line_at(start),
                    record.iter().map(str::to_string).collect::<Vec<_>>(),
                )))
            }
            Err(e) => {
                let at = lines.line_at(e.position().map_or(before, csv::Position::byte));
                let why = match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => {
                        "is not UTF-8 text; save the export as CSV UTF-8".to_string()
                    }
                    _ => e.to_string(),
                };
                // A reader error ends the file: what follows cannot be trusted.
                reader = csv::ReaderBuilder::new().from_reader(&[][..]);
                Some(Err((at, why)))
            }
        }
    })
    .filter(
        |r: &RowResult| !matches!(r, Ok((_, cells)) if cells.iter().all(|c| c.trim().is_empty())),
    )
}

/// The line of a byte offset, counted forward only (offsets come in increasing order), so a
/// whole file costs one pass.
struct LineCounter<'a> {
    bytes: &'a [u8],
    at: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            at: 0,
            line: 1,
        }
    }

    fn line_at(&mut self, offset: u64) -> u64 {
        let mut offset = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        // A record's offset may point at the blank lines before it.
        while offset < self.bytes.len() && matches!(self.bytes[offset], b'\r' | b'\n') {
            offset += 1;
        }
        if offset > self.at {
            self.line += self.bytes[self.at..offset]
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u64;
            self.at = offset;
        }
        self.line
    }
}

fn xlsx_rows(bytes: &[u8]) -> Result<Vec<RowResult>, String> {
    let mut book =
        Xlsx::new(Cursor::new(bytes)).map_err(|e| format!("not a readable XLSX file: {e}"))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or("the workbook has no sheet")?
        .map_err(|e| format!("the first sheet cannot be read: {e}"))?;
    let first = u64::from(range.start().map_or(0, |(r, _)| r));
    Ok(range
        .rows()
        .enumerate()
        .map(|(i, cells)| Ok((first + i as u64 + 1, cells.iter().map(cell_text).collect())))
        .filter(|r: &RowResult| !matches!(r, Ok((_, cells)) if cells.iter().all(|c| c.trim().is_empty())))
        .collect())
}

fn cell_text(c: &Data) -> String {
    match c {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::DateTime(d) => d
            .as_datetime()
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default(),
        other => other.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_carry_their_lines() {
        let file = "\u{feff}工单编号,标题\n1,\"两行\n的标题\"\n\n2,二\n";
        let rows: Vec<_> = rows(Format::Csv, file.as_bytes()).unwrap().collect();
        assert_eq!(
            rows[0],
            Ok((1, vec!["工单编号".to_string(), "标题".to_string()]))
        );
        assert_eq!(
            rows[1],
            Ok((2, vec!["1".to_string(), "两行\n的标题".to_string()]))
        );
        assert_eq!(rows[2], Ok((5, vec!["2".to_string(), "二".to_string()])));
        assert_eq!(rows.len(), 3, "blank lines are skipped");
    }

    #[test]
    fn bad_bytes_are_refused_with_their_line() {
        let mut file = b"a,b\n1,2\n".to_vec();
        file.extend([0xB9, 0xA4, b',', b'3', b'\n']); // GBK, not UTF-8
        let rows: Vec<_> = rows(Format::Csv, &file).unwrap().collect();
        assert_eq!(rows.len(), 3);
        let (line, why) = rows[2].clone().unwrap_err();
        assert_eq!(line, 3);
        assert!(why.starts_with("is not UTF-8"), "{why}");
    }

    #[test]
    fn garbage_is_not_a_workbook() {
        assert!(rows(Format::Xlsx, b"not a zip").is_err());
    }
}
