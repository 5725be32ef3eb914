# The DB-migration function: GET /db_schema_status, PATCH /upgrade, GET /db_schema_status
# against the migration API behind the internal NLB. Invoke it after each deployment.

data "archive_file" "db_migrate" {
  type        = "zip"
  source_file = "${path.module}/lambda/db_migrate.py"
  output_path = var.db_migrate_lambda_zip_file != null ? var.db_migrate_lambda_zip_file : "${path.root}/db_migrate_lambda.zip"
}

resource "aws_iam_role" "db_migrate" {
  name_prefix        = substr("${local.name}-migrate-", 0, 38)
  description        = "DB-migration function of ${local.name}"
  assume_role_policy = data.aws_iam_policy_document.assume_role["db_migrate"].json
  tags               = var.standard_tags
}

resource "aws_iam_role_policy_attachment" "db_migrate_vpc_access" {
  role       = aws_iam_role.db_migrate.name
  policy_arn = "arn:${var.iam_partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

resource "aws_cloudwatch_log_group" "db_migrate" {
  name              = "/aws/lambda/${local.name}-db-migrate"
  retention_in_days = var.log_retention_in_days
  tags              = var.standard_tags
}

resource "aws_lambda_function" "db_migrate" {
  function_name    = "${local.name}-db-migrate"
  description      = "Applies the metadata service's pending database migrations through its migration API"
  role             = aws_iam_role.db_migrate.arn
  runtime          = "python3.12"
  handler          = "db_migrate.handler"
  filename         = data.archive_file.db_migrate.output_path
  source_code_hash = data.archive_file.db_migrate.output_base64sha256
  timeout          = 900
  tags             = var.standard_tags

  environment {
    variables = {
      MD_LB_ADDRESS      = local.migration_url
      MD_TIMEOUT_SECONDS = "840"
    }
  }

  vpc_config {
    subnet_ids         = [var.subnet1_id, var.subnet2_id]
    security_group_ids = [aws_security_group.this.id]
  }

  depends_on = [aws_iam_role_policy_attachment.db_migrate_vpc_access, aws_cloudwatch_log_group.db_migrate]
}
