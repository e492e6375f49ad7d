# Replication workflow for "Disentangling Representations through Multi-task Learning"
# (Vafidis, Bhargava & Rangel, ICLR 2025). Thin entry point: the stages live in workflow/rules/,
# all logic in the `disentangle` package (src/disentangle).
#
#   snakemake --cores all                                   # every panel, default preset (quick)
#   snakemake --cores all --profile profiles/smoke          # the whole DAG in minutes
#   snakemake figures/quick/fig3a.pdf                       # one panel and only what it needs
#   snakemake --cores all paper_panels                      # one section: paper, theory, methods, beyond

from snakemake.utils import min_version

min_version("9.19")


# Paths of the workflow's own files are resolved from this file's folder, so that the workflow
# also runs with `snakemake -s <repo>/Snakefile -d <elsewhere>` and as a module; results and
# figures go to the working directory.
# A syntax error or a duplicate key in the base config is reported with its file and line before
# Snakemake parses it (Snakemake's own message names neither); the --configfile overlays are
# parsed by Snakemake before this file runs, and checked for duplicate keys in common.smk.
from disentangle.config import ConfigError, check_yaml_files

try:
    check_yaml_files([f"{workflow.basedir}/config/config.yaml"])
except ConfigError as err:
    raise WorkflowError(str(err)) from None


configfile: f"{workflow.basedir}/config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/metrics.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/theory.smk"
include: "workflow/rules/generative.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/claims.smk"
include: "workflow/rules/contact_sheet.smk"


# Figure notebooks take seconds: on a cluster they run on the submit host, not in the queue.
localrules:
    all,
    paper_panels,
    theory_panels,
    methods_panels,
    beyond_panels,
    panel,
    panel_claims,
    claims_ledger,
    contact_sheet,


rule all:
    default_target: True
    input:
        all_panels(),
        f"results/{PRESET}/claims.csv",
        f"results/{PRESET}/CLAIMS.md",
        f"figures/{PRESET}/contact-sheet.pdf",
        f"figures/{PRESET}/contact-sheet.html",


# One section of the panels (config: panels.<id>.section) and only what it needs, e.g.
#   snakemake --cores all paper_panels     # the paper's multi-task panels, no β-VAE training
rule paper_panels:
    input:
        all_panels("paper"),


rule theory_panels:
    input:
        all_panels("theory"),


rule methods_panels:
    input:
        all_panels("methods"),


rule beyond_panels:
    input:
        all_panels("beyond"),
