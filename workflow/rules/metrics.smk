# Trained networks -> tidy metric tables (one row per network x fold x fit x metric).


# The networks' OOD r² (the configured decoder and the closed-form ridge decoder on the same
# states) and, in the same process, what the same decoders reach without a trained network (the
# baselines table: the noiseless observations f(x*), a linear integrator of the noisy inputs, the
# untrained networks and the Bayes-optimal observer; jobs/baselines.py). One job loads the
# ingredients once; the log's "baselines table computed" line gives the baselines' seconds
# (benchmarks/baseline_cost.py).
rule ood_generalisation:
    input:
        model="results/{preset}/models/{experiment}.pt",
        ingredients="results/{preset}/data/{experiment}.pt",
        code=code_sources("ood_generalisation"),
    output:
        configured=TABLES["ood_r2"],
        ridge=TABLES["ood_r2_ridge"],
        baselines=TABLES["baselines"],
    log:
        "results/{preset}/logs/ood_generalisation/{experiment}.log",
    benchmark:
        "results/{preset}/benchmarks/ood_generalisation/{experiment}.tsv"
    priority: PAPER_FIRST
    conda:
        JOB_ENV
    threads: config["threads"]
    resources:
        gpu=DEVICE_GPUS,
    params:
        settings=json.dumps(config["metrics"]["ood"], sort_keys=True),
        context=table_context,
        device=config["device"],
    shell:
        "python -u -m disentangle ood --model {input.model:q}"
        " --ingredients {input.ingredients:q} --settings {params.settings:q}"
        " --context {params.context:q} --out {output.configured:q}"
        " --out-ridge {output.ridge:q} --out-baselines {output.baselines:q}"
        " --device {params.device:q}"
        " --threads {threads} > {log:q} 2>&1"


rule decoder_angles:
    input:
        model="results/{preset}/models/{experiment}.pt",
        ingredients="results/{preset}/data/{experiment}.pt",
        code=code_sources("decoder_angles"),
    output:
        TABLES["angles"],
    log:
        "results/{preset}/logs/decoder_angles/{experiment}.log",
    benchmark:
        "results/{preset}/benchmarks/decoder_angles/{experiment}.tsv"
    priority: PAPER_FIRST
    conda:
        JOB_ENV
    threads: config["threads"]
    resources:
        gpu=DEVICE_GPUS,
    params:
        settings=json.dumps(config["metrics"]["angles"], sort_keys=True),
        context=table_context,
        device=config["device"],
    shell:
        "python -u -m disentangle angles --model {input.model:q}"
        " --ingredients {input.ingredients:q} --settings {params.settings:q}"
        " --context {params.context:q} --out {output:q} --device {params.device:q}"
        " --threads {threads} > {log:q} 2>&1"


rule sparsity:
    input:
        model="results/{preset}/models/{experiment}.pt",
        ingredients="results/{preset}/data/{experiment}.pt",
        code=code_sources("sparsity"),
    output:
        TABLES["sparsity"],
    log:
        "results/{preset}/logs/sparsity/{experiment}.log",
    benchmark:
        "results/{preset}/benchmarks/sparsity/{experiment}.tsv"
    priority: PAPER_FIRST
    conda:
        JOB_ENV
    threads: config["threads"]
    resources:
        gpu=DEVICE_GPUS,
    params:
        settings=json.dumps(config["metrics"]["sparsity"], sort_keys=True),
        context=table_context,
        device=config["device"],
    shell:
        "python -u -m disentangle sparsity --model {input.model:q}"
        " --ingredients {input.ingredients:q} --settings {params.settings:q}"
        " --context {params.context:q} --out {output:q} --device {params.device:q}"
        " --threads {threads} > {log:q} 2>&1"


# Theorem 3.1 part 1 on the trained networks: their decision-step outputs after t stimulus steps
# against the Bayes-optimal outputs, and the posterior mean the closed form recovers from them.
rule trained_outputs:
    input:
        model="results/{preset}/models/{experiment}.pt",
        ingredients="results/{preset}/data/{experiment}.pt",
        code=code_sources("trained_outputs"),
    output:
        TABLES["trained_outputs"],
    log:
        "results/{preset}/logs/trained_outputs/{experiment}.log",
    benchmark:
        "results/{preset}/benchmarks/trained_outputs/{experiment}.tsv"
    priority: PAPER_FIRST
    conda:
        JOB_ENV
    threads: config["threads"]
    resources:
        gpu=DEVICE_GPUS,
    params:
        settings=json.dumps(config["metrics"]["trained_outputs"], sort_keys=True),
        context=table_context,
        device=config["device"],
    shell:
        "python -u -m disentangle trained-outputs --model {input.model:q}"
        " --ingredients {input.ingredients:q} --settings {params.settings:q}"
        " --context {params.context:q} --out {output:q} --device {params.device:q}"
        " --threads {threads} > {log:q} 2>&1"
