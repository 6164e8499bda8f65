# R survival on the benchmark data: times each task (excluding the CSV load) and
# prints one JSON object.  Called by benchmarks/run.py: Rscript peers.R data.csv
# Base R only (data.table and jsonlite are not installed on the benchmark machine).
suppressMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
elapsed <- function() proc.time()[["elapsed"]]
t0 <- elapsed()
d <- read.csv(args[1], colClasses = c(time = "numeric", event = "numeric", entry = "numeric",
                                       group = "character", age = "numeric", ki67 = "numeric",
                                       sex = "character"))
res <- list(load = elapsed() - t0)
tm <- function(expr) { t <- elapsed(); force(expr); elapsed() - t }
# KM with log intervals (R's default), by the 4 treatment groups.
res$km <- tm(km <- survfit(Surv(time, event) ~ group, data = d, conf.type = "log"))
res$logrank <- tm(lr <- survdiff(Surv(time, event) ~ group, data = d))
res$km_and_logrank <- res$km + res$logrank
res$km_entry <- tm(kme <- survfit(Surv(entry, time, event) ~ group, data = d))
res$cox <- tm(cf <- coxph(Surv(time, event) ~ age + ki67 + sex, data = d, ties = "efron"))
res$cox_terms <- names(coef(cf))
res$cox_coef <- unname(coef(cf))
res$logrank_chisq <- lr$chisq
res$r_version <- R.version.string
res$survival_version <- as.character(packageVersion("survival"))
json_value <- function(x) {
  if (is.character(x)) x <- sprintf('"%s"', x) else x <- sprintf("%.17g", x)
  if (length(x) == 1) x else sprintf("[%s]", paste(x, collapse = ", "))
}
fields <- vapply(names(res), function(k) sprintf('"%s": %s', k, json_value(res[[k]])), "")
cat(sprintf("{%s}", paste(fields, collapse = ", ")))
