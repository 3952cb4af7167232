"""The report's inline style sheet: system fonts only (nothing fetched), a laptop-width column, a print layout."""

CSS = """
:root{--fg:#1d2329;--muted:#5b6670;--line:#d5dbe1;--bg:#fff;--soft:#f4f6f8;--ok:#1f7a3a;--bad:#b3261e;--na:#7a6a00}
*{box-sizing:border-box}
html{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1100px;margin:0 auto;padding:1.2rem 1.5rem 3rem}
h1{font-size:1.55rem;margin:.2rem 0 .6rem}
h2{font-size:1.2rem;margin:1.6rem 0 .5rem;border-bottom:1px solid var(--line);padding-bottom:.2rem}
h3{font-size:1.02rem;margin:1.1rem 0 .4rem}
summary h2{display:inline;border:0}
summary{cursor:pointer;margin:1.6rem 0 .5rem}
details[open]>summary{border-bottom:1px solid var(--line);padding-bottom:.2rem}
p{margin:.4rem 0}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:.4rem 0;font-size:.93rem}
dl.meta dt{color:var(--muted)}
dl.meta dd{margin:0;overflow-wrap:anywhere}
code,.cmd{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.86rem}
.cmd{background:var(--soft);padding:.1rem .35rem;border-radius:3px}
.verdict{border-left:5px solid #3465a4;background:#eef3fa;padding:.7rem 1rem;margin:1rem 0;font-size:1.02rem}
.verdict.warn{border-color:var(--bad);background:#fbeeee}
table{border-collapse:collapse;margin:.4rem 0 .8rem;font-size:.9rem;width:100%}
caption{text-align:left;color:var(--muted);font-size:.86rem;padding:.2rem 0}
th,td{border-bottom:1px solid var(--line);padding:.28rem .5rem;text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600}
td data{font-variant-numeric:tabular-nums;white-space:nowrap}
tr.ref td{color:var(--muted);font-style:italic}
tr.ref td:first-child::before{content:"reference: ";font-style:normal}
.badge{display:inline-block;padding:0 .45rem;border-radius:3px;font-size:.8rem;font-weight:700;color:#fff}
.badge.raised{background:var(--bad)}.badge.ok{background:var(--ok)}.badge.na{background:var(--na)}
ul.flags{list-style:none;padding:0}ul.flags li{margin:.25rem 0}
figure{margin:.6rem 0 1.2rem;break-inside:avoid}
figure img{max-width:100%;height:auto;border:1px solid var(--line)}
figcaption{color:var(--muted);font-size:.86rem}
.file{font-family:ui-monospace,monospace;font-size:.8rem}
.muted{color:var(--muted)}
.fail td{color:var(--bad)}
footer{margin-top:2.5rem;color:var(--muted);font-size:.8rem}
@media print{
 html{font-size:10.5pt}main{max-width:none;padding:0}
 details>summary{list-style:none}details::details-content{content-visibility:visible;display:block}
 .verdict{background:none}th{background:none}
 h2{break-after:avoid}table,figure{break-inside:avoid}
 a{color:inherit;text-decoration:none}
}
"""
