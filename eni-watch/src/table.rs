//! The AWS CLI's `--output table` layout (awscli `table.py`: centred title and headers, values
//! left-aligned after two spaces, columns scaled to the widest line), for the ENI listing in the
//! report: `aws ec2 describe-network-interfaces --query 'NetworkInterfaces[*].{AZ:…,Id:…,…}'`.

use crate::eni::Eni;

/// The report's columns, in the order the AWS CLI prints them (sorted by name).
pub const ENI_HEADERS: [&str; 6] = ["AZ", "Id", "InterfaceType", "Ip", "Status", "Subnet"];

/// The ENIs as the AWS CLI table titled `DescribeNetworkInterfaces`.
pub fn eni_table(enis: &[Eni]) -> String {
    let rows: Vec<Vec<String>> = enis
        .iter()
        .map(|e| {
            vec![
                e.az.clone(),
                e.id.clone(),
                e.interface_type.clone(),
                e.private_ip.clone().unwrap_or_default(),
                e.status.clone(),
                e.subnet.to_string(),
            ]
        })
        .collect();
    render("DescribeNetworkInterfaces", &ENI_HEADERS, &rows)
}

fn width(text: &str) -> i64 {
    text.chars().count() as i64
}

fn spaces(n: i64) -> String {
    " ".repeat(n.max(0) as usize)
}

fn center(text: &str, length: i64, left_edge: &str, right_edge: &str) -> String {
    let text_length = width(text);
    let char_start = length / 2 - text_length / 2 - 1;
    let so_far = width(left_edge) + char_start + text_length;
    format!("{left_edge}{}{text}{}{right_edge}", spaces(char_start), spaces(length - width(right_edge) - so_far))
}

fn align_left(text: &str, length: i64, left_edge: &str, right_edge: &str) -> String {
    let text_length = width(text);
    let padding = if length - (text_length + 2 + width(left_edge) + width(right_edge)) >= 0 { 2 } else { 0 };
    let so_far = width(left_edge) + padding + text_length;
    format!("{left_edge}{}{text}{}{right_edge}", spaces(padding), spaces(length - so_far - width(right_edge)))
}

/// awscli `Section.calculate_column_widths(padding=4, max_width)`: natural widths scaled to fill
/// `max_width` (Python's round-half-even), then nudged until they sum to it exactly.
fn column_widths(natural: &[i64], max_width: i64) -> Vec<i64> {
    let unscaled: Vec<i64> = natural.iter().map(|w| w + 4).collect();
    let total: i64 = unscaled.iter().sum();
    let scale = max_width as f64 / total as f64;
    let mut scaled: Vec<i64> = unscaled.iter().map(|&w| (scale * w as f64).round_ties_even() as i64).collect();
    let mut off_by: i64 = scaled.iter().sum::<i64>() - max_width;
    while off_by != 0 {
        let order: Vec<usize> =
            if off_by < 0 { (0..scaled.len()).rev().collect() } else { (0..scaled.len()).collect() };
        for i in order {
            if off_by > 0 {
                scaled[i] -= 1;
                off_by -= 1;
            } else {
                scaled[i] += 1;
                off_by += 1;
            }
            if off_by == 0 {
                break;
            }
        }
    }
    scaled
}

fn line_break(widths: &[i64]) -> String {
    let mut out = String::new();
    for (i, w) in widths.iter().enumerate() {
        let dashes = if i == 0 { w - 2 } else { w - 1 };
        if i == 0 {
            out.push('+');
        }
        out.push_str(&"-".repeat(dashes.max(0) as usize));
        out.push('+');
    }
    out.push('\n');
    out
}

/// One titled section with headers and rows, as the AWS CLI renders it (without colour and
/// without folding to the terminal width).
pub fn render(title: &str, headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut natural: Vec<i64> = headers.iter().map(|h| width(h)).collect();
    for row in rows {
        for (w, cell) in natural.iter_mut().zip(row) {
            *w = (*w).max(width(cell));
        }
    }
    let max_width = (natural.iter().map(|w| w + 4).sum::<i64>() + 2).max(width(title) + 2);
    let widths = column_widths(&natural, max_width);
    let mut out = "-".repeat(max_width as usize);
    out.push('\n');
    out.push_str(&center(title, max_width, "|", "|"));
    out.push('\n');
    out.push_str(&line_break(&widths));
    for (i, (w, header)) in widths.iter().zip(headers).enumerate() {
        out.push_str(&center(header, *w, if i == 0 { "|" } else { "" }, "|"));
    }
    out.push('\n');
    out.push_str(&line_break(&widths));
    for row in rows {
        for (i, (w, cell)) in widths.iter().zip(row).enumerate() {
            out.push_str(&align_left(cell, *w, if i == 0 { "|" } else { "" }, "|"));
        }
        out.push('\n');
    }
    if !rows.is_empty() {
        out.push_str(&line_break(&widths));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_aws_cli_layout() {
        // Rendered by awscli's table.py (MultiTable with a plain Styler, wide terminal).
        let rows = vec![
            vec!["us-east-1a".to_string(), "eni-0aaaaaaaaaaaaaaaa".into(), "10.0.1.4".into()],
            vec!["us-east-1b".to_string(), "eni-0bbbbbbbbbbbbbbbb".into(), "10.0.2.4".into()],
        ];
        let expected = "\
-----------------------------------------------------
|             DescribeNetworkInterfaces             |
+-------------+-------------------------+-----------+
|     AZ      |           Id            |    Ip     |
+-------------+-------------------------+-----------+
|  us-east-1a |  eni-0aaaaaaaaaaaaaaaa  |  10.0.1.4 |
|  us-east-1b |  eni-0bbbbbbbbbbbbbbbb  |  10.0.2.4 |
+-------------+-------------------------+-----------+
";
        assert_eq!(render("DescribeNetworkInterfaces", &["AZ", "Id", "Ip"], &rows), expected);
    }

    #[test]
    fn the_six_report_columns_scale_like_the_aws_cli() {
        // awscli 1.46.3 `table.py` output for the same rows (the scaling spreads the 2 border
        // columns over the cells, so widths are not simply `max + 4`).
        let row = |az: &str, id: &str, ip: &str, subnet: &str| {
            [az, id, "agentic_ai", ip, "in-use", subnet].map(str::to_string).to_vec()
        };
        let rows = vec![
            row("us-east-1a", "eni-0aaaaaaaaaaaaaaaa", "10.0.1.4", "subnet-0123456789abcdef0"),
            row("us-east-1b", "eni-0bbbbbbbbbbbbbbbb", "10.0.2.4", "subnet-0123456789abcdef1"),
        ];
        let expected = "\
------------------------------------------------------------------------------------------------------------
|                                         DescribeNetworkInterfaces                                        |
+------------+------------------------+----------------+-----------+---------+-----------------------------+
|     AZ     |          Id            | InterfaceType  |    Ip     | Status  |           Subnet            |
+------------+------------------------+----------------+-----------+---------+-----------------------------+
|  us-east-1a|  eni-0aaaaaaaaaaaaaaaa |  agentic_ai    |  10.0.1.4 |  in-use |  subnet-0123456789abcdef0   |
|  us-east-1b|  eni-0bbbbbbbbbbbbbbbb |  agentic_ai    |  10.0.2.4 |  in-use |  subnet-0123456789abcdef1   |
+------------+------------------------+----------------+-----------+---------+-----------------------------+
";
        assert_eq!(render("DescribeNetworkInterfaces", &ENI_HEADERS, &rows), expected);
    }

    #[test]
    fn widths_always_sum_to_the_table_width() {
        for natural in [vec![1, 1, 1], vec![10, 20, 3, 7, 9, 24], vec![2]] {
            let max = natural.iter().map(|w| w + 4).sum::<i64>() + 2;
            assert_eq!(column_widths(&natural, max).iter().sum::<i64>(), max);
        }
    }
}
