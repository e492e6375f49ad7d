# The contact sheet: every panel of the preset in config order with the first sentence of its
# caption and its claims' verdicts from the ledger, as one PDF (A4, a few panels a page) and one
# HTML page beside the PNGs (disentangle.jobs.contact_sheet). The PDF is the report's "Overview".


rule contact_sheet:
    input:
        pngs=expand(f"figures/{PRESET}/{{panel}}.png", panel=list(config["panels"])),
        claims=f"results/{PRESET}/claims.csv",
        code=code_sources("contact_sheet"),
    output:
        pdf=report(
            f"figures/{PRESET}/contact-sheet.pdf",
            caption="../report/contact_sheet.rst",
            category="Overview",
            labels={"item": "contact sheet", "preset": PRESET},
        ),
        html=f"figures/{PRESET}/contact-sheet.html",
    log:
        f"results/{PRESET}/logs/contact_sheet.log",
    benchmark:
        f"results/{PRESET}/benchmarks/contact_sheet/contact-sheet.tsv"
    conda:
        JOB_ENV
    params:
        # the config's panels in config order: {"id", "section", "caption"} of each
        panels=lambda wc: json.dumps(
            [
                {"id": p, "section": e["section"], "caption": e.get("caption", "")}
                for p, e in config["panels"].items()
            ]
        ),
        preset=PRESET,
    shell:
        "python -m disentangle contact-sheet --preset {params.preset:q} --panels {params.panels:q}"
        " --claims {input.claims:q} --out-pdf {output.pdf:q} --out-html {output.html:q}"
        " {input.pngs:q} > {log:q} 2>&1"
