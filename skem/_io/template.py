"""The page of :func:`skem.report`: one self-contained HTML file, no network."""

from string import Template

# Every value substituted here is already HTML (escaped text, or markup built
# from escaped text); figures are data: URIs, the style is inline.
PAGE = Template(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="skem $version">
<title>$title</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans",
       sans-serif; color: #1f2328; background: #fff; margin: 0; line-height: 1.5; }
main { max-width: 920px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 1.7em; margin: 0 0 4px; }
h2 { font-size: 1.25em; margin: 32px 0 8px; padding-bottom: 4px;
     border-bottom: 1px solid #d0d7de; }
p.lead { color: #57606a; margin-top: 0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.card { flex: 1 1 150px; border: 1px solid #d0d7de; border-radius: 8px;
        padding: 10px 14px; }
.card .n { font-size: 1.6em; font-weight: 600; display: block; }
.card.random .n { color: #b42318; }
.card.undetermined .n { color: #9a6700; }
.card.consistent .n { color: #1a7f37; }
figure { margin: 12px 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eaeef2;
             border-radius: 6px; }
figcaption { color: #57606a; font-size: 0.9em; }
table { border-collapse: collapse; width: 100%; font-size: 0.92em; margin: 8px 0; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eaeef2;
         vertical-align: top; }
th { background: #f6f8fa; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; padding: 0 8px; border-radius: 10px;
         font-size: 0.85em; font-weight: 600; color: #fff; }
.badge.random { background: #b42318; }
.badge.undetermined { background: #9a6700; }
.badge.consistent { background: #1a7f37; }
ul.flagged li { margin-bottom: 4px; }
.note { background: #f6f8fa; border-left: 4px solid #d0d7de; padding: 8px 12px; }
.warn { background: #fff8c5; border-left: 4px solid #9a6700; padding: 8px 12px; }
details summary { cursor: pointer; color: #0969da; }
footer { margin-top: 40px; color: #57606a; font-size: 0.85em; }
</style>
</head>
<body>
<main>
<h1>$title</h1>
<p class="lead">$lead</p>

<div class="cards">$cards</div>

<h2 id="flagged">Who was flagged, and why</h2>
$flagged

<h2 id="reliability">Reliability of each $annotator_word</h2>
$reliability

<h2 id="consensus">Consensus score of each $item_word</h2>
$consensus

<h2 id="annotators">$annotators_heading</h2>
$annotators

<h2 id="model">The model and the fit</h2>
$model

<h2 id="next">What to do next</h2>
$next_steps

<footer>Written by skem $version with <code>skem.report</code>. This page is
self-contained: it needs no network.</footer>
</main>
</body>
</html>
"""
)
