# Fault of the original fixed: the password sat in plain text in the task definition. It is
# now a Secrets Manager secret that ECS injects as MF_METADATA_DB_PSWD at start.

resource "aws_secretsmanager_secret" "database_password" {
  name_prefix             = "${local.name}-db-password-"
  description             = "Database password of ${local.name}"
  recovery_window_in_days = 7
  tags                    = var.standard_tags
}

resource "aws_secretsmanager_secret_version" "database_password" {
  secret_id     = aws_secretsmanager_secret.database_password.id
  secret_string = var.database_password
}

data "aws_iam_policy_document" "read_task_secrets" {
  statement {
    sid       = "ReadTaskSecrets"
    effect    = "Allow"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = compact([aws_secretsmanager_secret.database_password.arn, var.metadata_service_api_keys_secret_arn])
  }
}

resource "aws_iam_role_policy" "execution_read_task_secrets" {
  name   = "${local.name}-read-secrets"
  role   = local.execution_role_name
  policy = data.aws_iam_policy_document.read_task_secrets.json
}
