# Analyses of one trained network per experiment (config `analysis`: which task count and seed):
# dynamics (PCA, fixed points, Jacobian spectra) and single-unit tuning; and the task and encoder
# illustrations, which need only the ingredients.


rule dynamics:
    input:
        model="results/{preset}/models/{experiment}.pt",
        ingredients="results/{preset}/data/{experiment}.pt",
        code=code_sources("dynamics"),
    output:
        trajectories=TABLES["trajectories"],
        fixed_points=TABLES["fixed_points"],
        spectrum=TABLES["spectrum"],
    log:
        "results/{preset}/logs/dynamics/{experiment}.log",
    benchmark:
        "results/{preset}/benchmarks/dynamics/{experiment}.tsv"
    priority: PAPER_FIRST
    conda:
        JOB_ENV
    threads: 1  # the fixed-point search is latency bound: one thread is fastest
    resources:
        gpu=DEVICE_GPUS,
    params:
        settings=json.dumps(config["analysis"], sort_keys=True),
        context=table_context,
        device=config["device"],
    shell:
        "python -u -m disentangle dynamics --model {input.model:q}"
        " --ingredients {input.ingredients:q} --settings {params.settings:q}"
        " --context {params.context:q} --trajectories {output.trajectories:q}"
        " --fixed-points {output.fixed_points:q} --spectrum {output.spectrum:q}"
        " --device {params.device:q} --threads {threads} > {log:q} 2>&1"


rule tuning:
    input:
        model="results/{preset}/models/{experiment}.pt",
        ingredients="results/{preset}/data/{experiment}.pt",
        code=code_sources("tuning"),
    output:
        TABLES["tuning"],
    log:
        "results/{preset}/logs/tuning/{experiment}.log",
    benchmark:
        "results/{preset}/benchmarks/tuning/{experiment}.tsv"
    priority: PAPER_FIRST
    conda:
        JOB_ENV
    resources:
        gpu=DEVICE_GPUS,
    params:
        settings=json.dumps(config["analysis"], sort_keys=True),
        context=table_context,
        device=config["device"],
    shell:
        "python -u -m disentangle tuning --model {input.model:q}"
        " --ingredients {input.ingredients:q} --settings {params.settings:q}"
        " --context {params.context:q} --out {output:q} --device {params.device:q}"
        " > {log:q} 2>&1"


rule examples:
    input:
        ingredients="results/{preset}/data/{experiment}.pt",
        code=code_sources("examples"),
    output:
        task=TABLES["task_example"],
        encoder=TABLES["encoder_example"],
    log:
        "results/{preset}/logs/examples/{experiment}.log",
    benchmark:
        "results/{preset}/benchmarks/examples/{experiment}.tsv"
    priority: PAPER_FIRST
    conda:
        JOB_ENV
    params:
        settings=json.dumps(config["analysis"], sort_keys=True),
        context=table_context,
    shell:
        "python -u -m disentangle examples --ingredients {input.ingredients:q}"
        " --settings {params.settings:q} --context {params.context:q}"
        " --task {output.task:q} --encoder {output.encoder:q} > {log:q} 2>&1"
